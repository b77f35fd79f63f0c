/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * pidone trace signals: one record per signal generated, from the signal_generate
 * tracepoint attached as a raw tracepoint. Its arguments are the kernel function's own,
 * TP_PROTO(int sig, struct kernel_siginfo *info, struct task_struct *task, int group,
 * int result), stable since 4.20, so no tracepoint format file (whose layout changes
 * between kernels) is read: the target's pid and comm come from its task_struct through
 * CO-RE, the sender's from the current task.
 */
#include "common.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Keep only signals sent by or to this process (tgid); 0 = all. */
volatile const __u32 filter_pid = 0;

struct signal_event {
	__u64 ts_ns;
	__s32 sig;
	__s32 result; /* enum trace_signal_ret: 0 delivered, 1 ignored, 2 already pending, ... */
	__s32 code;   /* si_code: 0 SI_USER (kill), -6 SI_TKILL, 0x80 SI_KERNEL, ... */
	__s32 group;  /* 1: sent to the whole thread group */
	__u32 sender_pid, sender_tid, target_pid, target_tid;
	__u32 sender_nspid, target_nspid; /* in the --ns namespace, 0 if not visible there */
	char sender_comm[TASK_COMM_LEN];
	char target_comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* The siginfo fields we read are user ABI (si_signo, si_errno, si_code at 0, 4, 8): no CO-RE. */
struct siginfo_head {
	int si_signo;
	int si_errno;
	int si_code;
};

SEC("raw_tracepoint/signal_generate")
int signal_generate(struct bpf_raw_tracepoint_args *ctx)
{
	int sig = (int)ctx->args[0];
	unsigned long info = ctx->args[1];
	struct task_struct *target = (struct task_struct *)ctx->args[2];
	__u64 id = bpf_get_current_pid_tgid();
	__u32 sender_pid = id >> 32;
	__u32 target_pid = BPF_CORE_READ(target, tgid);

	if (filter_pid && sender_pid != filter_pid && target_pid != filter_pid)
		return 0;

	__u32 sender_nspid = 0, target_nspid = 0;
	if (filter_ns_inum) {
		struct task_struct *cur = (struct task_struct *)bpf_get_current_task();
		sender_nspid = ns_pid_of(cur);
		target_nspid = ns_pid_of(target);
		if (!sender_nspid && !target_nspid)
			return 0;
	}

	struct signal_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->sig = sig;
	e->result = (int)ctx->args[4];
	e->group = (int)ctx->args[3];
	/* SEND_SIG_NOINFO (0) means a kill from user space, SEND_SIG_PRIV (1) the kernel. */
	if (info == 0) {
		e->code = 0;
	} else if (info == 1) {
		e->code = 0x80;
	} else {
		struct siginfo_head h = {};
		bpf_probe_read_kernel(&h, sizeof(h), (void *)info);
		e->code = h.si_code;
	}
	e->sender_pid = sender_pid;
	e->sender_tid = (__u32)id;
	e->target_pid = target_pid;
	e->target_tid = BPF_CORE_READ(target, pid);
	e->sender_nspid = sender_nspid;
	e->target_nspid = target_nspid;
	bpf_get_current_comm(e->sender_comm, sizeof(e->sender_comm));
	BPF_CORE_READ_STR_INTO(&e->target_comm, target, comm);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
