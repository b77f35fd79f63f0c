/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Shared by every pidone tracer: the few kernel types we read, declared with
 * preserve_access_index so clang records CO-RE relocations and the loader (aya)
 * rewrites each field offset for the running kernel from /sys/kernel/btf/vmlinux.
 * Only field *names* must match the kernel; sizes and offsets come from its BTF.
 * This is why no kernel headers and no vmlinux.h are needed to build.
 */
#ifndef PIDONE_COMMON_H
#define PIDONE_COMMON_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define TASK_COMM_LEN 16
/* Deepest PID namespace level we look at for --ns (the kernel allows 32; containers use 1-2). */
#define MAX_NS_LEVEL 8

struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct pid_namespace {
	struct ns_common ns;
} __attribute__((preserve_access_index));

struct upid {
	int nr;
	struct pid_namespace *ns;
} __attribute__((preserve_access_index));

struct pid {
	unsigned int level;
	struct upid numbers[1];
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
	int exit_code;
	char comm[TASK_COMM_LEN];
	struct task_struct *real_parent;
	struct pid *thread_pid;
} __attribute__((preserve_access_index));

struct linux_binprm {
	const char *filename;
} __attribute__((preserve_access_index));

/* Set by the loader before load (volatile const lands in .rodata: the verifier sees the value
 * and prunes dead branches, so an unused filter costs nothing). 0 = no namespace filter. */
volatile const __u32 filter_ns_inum = 0;

/* Ring buffer records that could not be reserved (the reader fell behind). Index 0. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} dropped SEC(".maps");

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&dropped, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
}

/*
 * The pid of task t as seen in the namespace filter_ns_inum, or 0 when t is not visible
 * there (t lives neither in that namespace nor in one nested inside it). A task is visible
 * in every namespace of its pid's numbers[0..level]; numbers[i].ns is the namespace at
 * level i, so we look for the level whose namespace is ours.
 */
static __always_inline __u32 ns_pid_of(struct task_struct *t)
{
	struct pid *p = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(p, level);
	for (int i = 0; i < MAX_NS_LEVEL; i++) {
		if (i > level)
			break;
		struct pid_namespace *ns = BPF_CORE_READ(p, numbers[i].ns);
		if (BPF_CORE_READ(ns, ns.inum) == filter_ns_inum)
			return BPF_CORE_READ(p, numbers[i].nr);
	}
	return 0;
}

#endif
