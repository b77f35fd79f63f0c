/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * pidone trace procs: process lifecycle from three scheduler tracepoints attached as raw
 * tracepoints, reading the task_structs they pass through CO-RE. The classic format of
 * sched_process_fork changed between kernels (its comms became __data_loc strings), the
 * raw arguments did not:
 *   sched_process_fork  (struct task_struct *parent, struct task_struct *child)
 *   sched_process_exec  (struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
 *   sched_process_exit  (struct task_struct *p[, bool group_dead])
 * Threads are left out: a fork record is a new process, an exit record a thread-group
 * leader's exit.
 */
#include "common.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define KIND_FORK 1
#define KIND_EXEC 2
#define KIND_EXIT 3
#define FILENAME_LEN 256

struct proc_event {
	__u64 ts_ns;
	__u32 kind;
	__u32 pid;     /* fork: the child; exec, exit: the process */
	__u32 ppid;    /* fork: the parent; exec, exit: the real parent */
	__u32 nspid;   /* pid in the --ns namespace, 0 if none */
	__u32 nsppid;  /* ppid in the --ns namespace, 0 if none */
	__s32 status;  /* exit: the raw wait status (code << 8 | signal); exec: the old pid */
	char comm[TASK_COMM_LEN];
	char filename[FILENAME_LEN]; /* exec only */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 512 * 1024);
} events SEC(".maps");

static __always_inline struct proc_event *
new_event(__u32 kind, struct task_struct *task, struct task_struct *parent)
{
	__u32 nspid = 0, nsppid = 0;
	if (filter_ns_inum) {
		nspid = ns_pid_of(task);
		if (!nspid)
			return 0;
		nsppid = ns_pid_of(parent);
	}
	struct proc_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = kind;
	e->pid = BPF_CORE_READ(task, tgid);
	e->ppid = BPF_CORE_READ(parent, tgid);
	e->nspid = nspid;
	e->nsppid = nsppid;
	e->status = 0;
	e->filename[0] = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	return e;
}

SEC("raw_tracepoint/sched_process_fork")
int sched_process_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (struct task_struct *)ctx->args[0];
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	if (BPF_CORE_READ(child, tgid) == BPF_CORE_READ(parent, tgid))
		return 0; /* a thread */
	struct proc_event *e = new_event(KIND_FORK, child, parent);
	if (e)
		bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("raw_tracepoint/sched_process_exec")
int sched_process_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *p = (struct task_struct *)ctx->args[0];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	struct proc_event *e = new_event(KIND_EXEC, p, BPF_CORE_READ(p, real_parent));
	if (!e)
		return 0;
	e->status = (__s32)ctx->args[1];
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("raw_tracepoint/sched_process_exit")
int sched_process_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *p = (struct task_struct *)ctx->args[0];
	if (BPF_CORE_READ(p, pid) != BPF_CORE_READ(p, tgid))
		return 0; /* a thread other than the leader */
	struct proc_event *e = new_event(KIND_EXIT, p, BPF_CORE_READ(p, real_parent));
	if (!e)
		return 0;
	/* do_exit() stores the status in exit_code before this tracepoint fires; for a group
	 * exit (exit_group, a fatal signal) every thread gets the group's status. */
	e->status = BPF_CORE_READ(p, exit_code);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
