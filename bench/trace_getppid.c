/* The benchmark load of bench/trace_bench.sh: N getppid() calls in a tight loop.
 * Usage: trace_getppid N [WAITFD]  -- with WAITFD, first read one byte from that fd (a
 * "go" signal from the harness, sent once the tracer is attached), then loop, then print
 * the loop's duration in ns on stdout. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000000;
	if (argc > 2) {
		char c;
		if (read(atoi(argv[2]), &c, 1) != 1)
			return 2;
	}
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid); /* not getppid(): no libc caching, always a real syscall */
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%lld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
	return 0;
}
