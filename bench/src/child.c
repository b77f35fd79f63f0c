/* bench-child: the command each init under test runs, in one of four modes.
 *
 *   bench-child idle           write "R" on stdout, then sleep until killed
 *   bench-child sigrecv        SIGUSR1 handler writes the receive time (CLOCK_MONOTONIC, 8 bytes of
 *                              uint64 ns) on stdout; 8 zero bytes first mean "handler installed"
 *   bench-child stop           SIGTERM handler does _exit(0) at once; "R" on stdout when installed
 *   bench-child orphans N CAP  double-fork N orphans (each exits at once, so it becomes a zombie
 *                              child of the init), printing "start T" and "forked T" lines; then
 *                              block reading stdin until EOF (so the driver can read the init's
 *                              CPU time while it is still alive). Never more than about CAP
 *                              orphans are pending at once: every 64 forks it counts the init's
 *                              children in /proc/1/task/1/children and waits while above CAP.
 *
 * Everything it writes goes to stdout, which the driver (nsbench) reads through a pipe; the init
 * under test passes stdin/stdout through untouched.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) _exit(3);
        p += n;
        len -= (size_t)n;
    }
}

static void on_usr1(int sig) {
    (void)sig;
    int saved = errno;
    uint64_t t = now_ns();
    write_all(1, &t, sizeof t);
    errno = saved;
}

static void on_term(int sig) {
    (void)sig;
    _exit(0);
}

static void sleep_forever(void) {
    for (;;) pause();
}

static void install(int sig, void (*fn)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) != 0) {
        perror("bench-child: sigaction");
        exit(2);
    }
}

/* Children of the namespace's init other than us: pending orphans (zombies, or just exiting). */
static long pending_orphans(void) {
    static char buf[1 << 20];
    int fd = open("/proc/1/task/1/children", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
        if (len >= sizeof buf - 1) break;
    }
    close(fd);
    long count = 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == ' ') count++;
    return count > 0 ? count - 1 : 0; /* minus ourselves */
}

static int orphans(long n, long cap) {
    long waits = 0, eagain = 0;
    printf("start %llu\n", (unsigned long long)now_ns());
    fflush(stdout);
    uint64_t deadline = now_ns() + 120ull * 1000000000u;
    for (long i = 0; i < n; i++) {
        if (cap > 0 && i % 64 == 0) {
            long p;
            while ((p = pending_orphans()) > cap) {
                waits++;
                if (now_ns() > deadline) {
                    fprintf(stderr, "bench-child: %ld orphans still pending after 120 s\n", p);
                    return 3;
                }
                usleep(1000);
            }
        }
        pid_t mid = fork();
        if (mid < 0) {
            if (errno == EAGAIN && now_ns() < deadline) { /* pids limit: let the init catch up */
                eagain++;
                usleep(1000);
                i--;
                continue;
            }
            perror("bench-child: fork");
            return 3;
        }
        if (mid == 0) {
            pid_t g = fork();
            (void)g; /* the grandchild (g == 0) and the middle child both exit at once */
            _exit(0);
        }
        int st;
        while (waitpid(mid, &st, 0) < 0 && errno == EINTR) {
        }
    }
    printf("forked %llu waits=%ld eagain=%ld\n", (unsigned long long)now_ns(), waits, eagain);
    fflush(stdout);
    char c;
    for (;;) { /* wait for EOF: the driver closes our stdin once it has read the init's CPU time */
        ssize_t r = read(0, &c, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench-child idle|sigrecv|stop|orphans N CAP\n");
        return 2;
    }
    const char *mode = argv[1];
    if (strcmp(mode, "idle") == 0) {
        write_all(1, "R", 1);
        sleep_forever();
    } else if (strcmp(mode, "sigrecv") == 0) {
        install(SIGUSR1, on_usr1);
        uint64_t zero = 0;
        write_all(1, &zero, sizeof zero);
        sleep_forever();
    } else if (strcmp(mode, "stop") == 0) {
        install(SIGTERM, on_term);
        write_all(1, "R", 1);
        sleep_forever();
    } else if (strcmp(mode, "orphans") == 0 && argc == 4) {
        return orphans(atol(argv[2]), atol(argv[3]));
    }
    fprintf(stderr, "bench-child: unknown mode %s\n", mode);
    return 2;
}
