/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * pidone trace syscalls: per-syscall counts for one process (and, with -f, the processes
 * it forks), aggregated in the kernel: one array indexed by syscall number, incremented in
 * place with an atomic add. Nothing crosses to user space until the end.
 *
 * An array rather than a hash map: the verifier inlines an array lookup into a bounds check
 * and an address computation, where a hash lookup is a call that hashes the key and walks a
 * bucket, and an array needs no insert (so no insert race either). Measured on a loop of
 * getppid() calls: x1.65 per call with the array, x1.86 with a hash map (bench/trace_bench.sh).
 *
 * sys_enter is attached as a raw tracepoint: its arguments are (struct pt_regs *regs,
 * long id), so the syscall number is args[1] with no format file and no copy of the
 * arguments the classic tracepoint would make (measured ~28% cheaper per call).
 */
#include "common.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* The process (tgid) to count. */
volatile const __u32 target_tgid = 0;
/* Non-zero: also count processes forked by a counted process (pids kept in `followed`). */
volatile const __u32 follow = 0;

/* Syscall numbers are below 512 on x86_64 and aarch64; anything from OTHER up (x32 calls have
 * bit 30 set, a bogus number from syscall(2) can be anything) is counted in the last slot. */
#define COUNTS 1024
#define OTHER (COUNTS - 1)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, COUNTS);
	__type(key, __u32);   /* syscall number */
	__type(value, __u64); /* calls */
} counts SEC(".maps");

/* The loader shrinks it to 1 entry without -f: hash maps are preallocated. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tgid */
	__type(value, __u8);
} followed SEC(".maps");

SEC("raw_tracepoint/sys_enter")
int sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (tgid != target_tgid) {
		if (!follow || !bpf_map_lookup_elem(&followed, &tgid))
			return 0;
	}
	__u64 raw = ctx->args[1];
	__u32 nr = raw < OTHER ? (__u32)raw : OTHER;
	__u64 *n = bpf_map_lookup_elem(&counts, &nr);
	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}

/* sched_process_fork: TP_PROTO(struct task_struct *parent, struct task_struct *child). */
SEC("raw_tracepoint/sched_process_fork")
int sched_process_fork(struct bpf_raw_tracepoint_args *ctx)
{
	if (!follow)
		return 0;
	struct task_struct *parent = (struct task_struct *)ctx->args[0];
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	if (ctgid == ptgid) /* a new thread: counted through its tgid already */
		return 0;
	if (ptgid != target_tgid && !bpf_map_lookup_elem(&followed, &ptgid))
		return 0;
	__u8 yes = 1;
	bpf_map_update_elem(&followed, &ctgid, &yes, BPF_ANY);
	return 0;
}

/* sched_process_exit: TP_PROTO(struct task_struct *p[, bool group_dead]). Forget an exited
 * follower so that a later process reusing its pid is not counted. */
SEC("raw_tracepoint/sched_process_exit")
int sched_process_exit(struct bpf_raw_tracepoint_args *ctx)
{
	if (!follow)
		return 0;
	struct task_struct *p = (struct task_struct *)ctx->args[0];
	__u32 pid = BPF_CORE_READ(p, pid);
	__u32 tgid = BPF_CORE_READ(p, tgid);
	if (pid == tgid)
		bpf_map_delete_elem(&followed, &tgid);
	return 0;
}
