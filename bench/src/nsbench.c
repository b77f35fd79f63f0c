/* nsbench: runs a command as PID 1 of a fresh PID namespace (and a private mount namespace with
 * its own /proc, like a container) and measures it from outside, by its host pid.
 *
 *   nsbench startup N -- CMD...          N times: clone → CMD exits; prints sample=NS, the wall
 *                                        time from clone to waitpid (CMD must exit 0)
 *   nsbench idle SECS -- CMD...          CMD ends in `bench-child idle`; after it is ready and
 *                                        0.5 s of settling, prints the init's footprint, then its
 *                                        context switches and CPU time over SECS seconds
 *   nsbench reap N CAP -- CMD...         CMD ends in `bench-child orphans N CAP`; prints wall time
 *                                        until every orphan is reaped, peak pending orphans and
 *                                        the init's CPU time spent on it
 *   nsbench signal N GAP_US -- CMD...    CMD ends in `bench-child sigrecv`; N times
 *                                        kill(init, SIGUSR1) → child's handler; sample=NS
 *   nsbench stop N -- CMD...             CMD ends in `bench-child stop`; N times (each a fresh
 *                                        namespace) kill(init, SIGTERM) → init reaped; sample=NS
 *
 * Safety: the only processes ever signalled are the namespace inits this program cloned, by their
 * host pid, while they are its unreaped children (so the pid cannot have been reused), after
 * checking that they are PID 1 of their namespace. Never PID 1 of the host, never -1, never a
 * group. Every wait has a timeout, after which the namespace init gets SIGKILL (which makes the
 * kernel kill everything in its namespace). PR_SET_PDEATHSIG kills the namespace if nsbench dies.
 * The reap benchmark runs in a pids cgroup (cgroup v1 `pids` hierarchy, when present) capped at
 * CAP+256 tasks, on top of bench-child's own cap.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 20000 /* default limit for any single wait */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nsbench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

struct ns {
    pid_t pid;  /* host pid of the namespace's init */
    int pidfd;  /* readable once it has exited */
    int in_w;   /* write end of its stdin, or -1 */
    int out_r;  /* read end of its stdout, or -1 */
};

/* Clone CMD as PID 1 of a new PID + mount namespace with a fresh /proc. */
static void spawn_ns(char **argv, int pipe_in, int pipe_out, const char *cgroup_procs, struct ns *ns) {
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    if (pipe_in && pipe2(in, O_CLOEXEC) != 0) die("pipe: %s", strerror(errno));
    if (pipe_out && pipe2(out, O_CLOEXEC) != 0) die("pipe: %s", strerror(errno));
    fflush(NULL);
    long r = syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, NULL, NULL, NULL, NULL);
    if (r < 0) die("clone(CLONE_NEWPID|CLONE_NEWNS): %s (run as root)", strerror(errno));
    if (r == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* (getppid() is 0 here: the parent is outside the new namespace) */
        if (cgroup_procs) {
            int fd = open(cgroup_procs, O_WRONLY | O_CLOEXEC);
            if (fd < 0 || write(fd, "0", 1) != 1) _exit(125);
            close(fd);
        }
        /* a session of its own, as runc gives a container's process (with the kernel's
         * sched autogroup, the session also decides which scheduling group it runs in) */
        if (setsid() < 0) _exit(124);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) _exit(124);
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) _exit(124);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull < 0) _exit(124);
        dup2(pipe_in ? in[0] : devnull, 0);
        dup2(pipe_out ? out[1] : devnull, 1);
        /* stderr stays the driver's: the init's own messages end up in the harness log */
        syscall(SYS_close_range, 3, ~0u, 0);
        execv(argv[0], argv);
        _exit(127);
    }
    ns->pid = (pid_t)r;
    ns->pidfd = (int)syscall(SYS_pidfd_open, ns->pid, 0);
    if (ns->pidfd < 0) die("pidfd_open: %s", strerror(errno));
    ns->in_w = -1;
    ns->out_r = -1;
    if (pipe_in) {
        close(in[0]);
        ns->in_w = in[1];
    }
    if (pipe_out) {
        close(out[1]);
        ns->out_r = out[0];
    }
}

/* Wait up to ms for the namespace init to exit; SIGKILL it on timeout. Returns the wait status,
 * or -1 after a timeout. Always reaps it. */
static int wait_ns(struct ns *ns, int ms) {
    struct pollfd p = {ns->pidfd, POLLIN, 0};
    int timed_out = 0;
    int n;
    while ((n = poll(&p, 1, ms)) < 0 && errno == EINTR) {
    }
    if (n == 0) {
        timed_out = 1;
        kill(ns->pid, SIGKILL); /* our own unreaped child, PID 1 of the namespace we created */
    }
    int st = 0;
    while (waitpid(ns->pid, &st, 0) < 0) {
        if (errno != EINTR) die("waitpid: %s", strerror(errno));
    }
    close(ns->pidfd);
    if (ns->in_w >= 0) close(ns->in_w);
    if (ns->out_r >= 0) close(ns->out_r);
    ns->in_w = ns->out_r = -1;
    return timed_out ? -1 : st;
}

static void kill_ns(struct ns *ns) {
    kill(ns->pid, SIGKILL);
    wait_ns(ns, WAIT_MS);
}

static int read_file(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
        if (len >= cap - 1) break;
    }
    close(fd);
    buf[len] = 0;
    return (int)len;
}

/* Refuse to signal anything but our own child that is PID 1 of its namespace. */
static void check_ns_init(pid_t pid) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (read_file(path, buf, sizeof buf) < 0) die("cannot read %s", path);
    char *pp = strstr(buf, "\nPPid:");
    char *ns = strstr(buf, "\nNSpid:");
    if (!pp || !ns) die("%s: no PPid/NSpid", path);
    if (atoi(pp + 6) != getpid()) die("pid %d is not our child; refusing to signal it", pid);
    char *eol = strchr(ns + 1, '\n');
    if (eol) *eol = 0;
    char *last = strrchr(ns, '\t');
    if (!last || strcmp(last + 1, "1") != 0 || last == strchr(ns, '\t'))
        die("pid %d is not PID 1 of a child namespace (%s); refusing to signal it", pid, ns + 1);
}

/* Read exactly len bytes from fd within ms milliseconds. Returns 0, or -1 on timeout/EOF. */
static int read_exact(int fd, void *buf, size_t len, int ms) {
    char *p = buf;
    uint64_t deadline = now_ns() + (uint64_t)ms * 1000000u;
    while (len > 0) {
        uint64_t t = now_ns();
        if (t >= deadline) return -1;
        struct pollfd pf = {fd, POLLIN, 0};
        int n = poll(&pf, 1, (int)((deadline - t) / 1000000u) + 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        ssize_t r = read(fd, p, len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

struct snap {
    long rss_kb, hwm_kb, anon_kb, file_kb, threads, vcsw, nvcsw, fds;
    unsigned long long ticks; /* utime + stime, clock ticks */
    unsigned long long run_ns; /* schedstat: time on CPU, ns (0 if unavailable) */
};

static long status_field(const char *buf, const char *key) {
    char k[64];
    snprintf(k, sizeof k, "\n%s:", key);
    const char *p = strstr(buf, k);
    return p ? atol(p + strlen(k)) : -1;
}

static void snapshot(pid_t pid, struct snap *s) {
    char path[64], buf[8192];
    memset(s, 0, sizeof *s);
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (read_file(path, buf, sizeof buf) < 0) die("cannot read %s", path);
    s->rss_kb = status_field(buf, "VmRSS");
    s->hwm_kb = status_field(buf, "VmHWM");
    s->anon_kb = status_field(buf, "RssAnon");
    s->file_kb = status_field(buf, "RssFile");
    s->threads = status_field(buf, "Threads");
    s->vcsw = status_field(buf, "voluntary_ctxt_switches");
    s->nvcsw = status_field(buf, "nonvoluntary_ctxt_switches");
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (read_file(path, buf, sizeof buf) < 0) die("cannot read %s", path);
    char *p = strrchr(buf, ')');
    if (!p) die("bad %s", path);
    /* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
    unsigned long long ut = 0, st = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        die("bad %s", path);
    s->ticks = ut + st;
    snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
    if (read_file(path, buf, sizeof buf) > 0) s->run_ns = strtoull(buf, NULL, 10);
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.') s->fds++;
        closedir(d);
    }
}

static int cmd_startup(int n, char **argv) {
    for (int i = 0; i < n; i++) {
        struct ns ns;
        uint64_t t0 = now_ns();
        spawn_ns(argv, 0, 0, NULL, &ns);
        int st = wait_ns(&ns, WAIT_MS);
        uint64_t t1 = now_ns();
        if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "nsbench: startup: %s ended with status 0x%x (timeout=%d)\n", argv[0], st,
                    st < 0);
            return 1;
        }
        printf("sample=%llu\n", (unsigned long long)(t1 - t0));
    }
    return 0;
}

static int cmd_idle(double secs, char **argv) {
    struct ns ns;
    spawn_ns(argv, 0, 1, NULL, &ns);
    char c;
    if (read_exact(ns.out_r, &c, 1, WAIT_MS) != 0) {
        kill_ns(&ns);
        die("idle: the child never became ready");
    }
    check_ns_init(ns.pid);
    sleep_us(500000);
    struct snap a, b;
    snapshot(ns.pid, &a);
    sleep_us((long)(secs * 1e6));
    snapshot(ns.pid, &b);
    char wchan[128] = "";
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/wchan", ns.pid);
    read_file(path, wchan, sizeof wchan);
    kill_ns(&ns);
    printf("rss_kb=%ld\nhwm_kb=%ld\nrss_anon_kb=%ld\nrss_file_kb=%ld\nthreads=%ld\nfds=%ld\n", a.rss_kb,
           a.hwm_kb, a.anon_kb, a.file_kb, a.threads, a.fds);
    printf("idle_secs=%g\nwakeups=%ld\nnvcsw=%ld\ncpu_ticks=%llu\ncpu_ns=%llu\nwchan=%s\n", secs,
           b.vcsw - a.vcsw, b.nvcsw - a.nvcsw, b.ticks - a.ticks, b.run_ns - a.run_ns,
           wchan[0] ? wchan : "-");
    return 0;
}

/* A pids cgroup for the reap benchmark: cgroup v1 `pids` hierarchy if mounted. */
static char cg_dir[256];

static int cg_setup(long max) {
    struct stat sb;
    if (getenv("NSBENCH_NO_CGROUP")) return 0; /* to exercise the sampling fallback */
    if (stat("/sys/fs/cgroup/pids/cgroup.procs", &sb) != 0) return 0;
    snprintf(cg_dir, sizeof cg_dir, "/sys/fs/cgroup/pids/pidone-bench.%d", getpid());
    if (mkdir(cg_dir, 0755) != 0 && errno != EEXIST) {
        cg_dir[0] = 0;
        return 0;
    }
    char path[320], val[32];
    snprintf(path, sizeof path, "%s/pids.max", cg_dir);
    snprintf(val, sizeof val, "%ld", max);
    int fd = open(path, O_WRONLY);
    if (fd < 0 || write(fd, val, strlen(val)) < 0) {
        if (fd >= 0) close(fd);
        rmdir(cg_dir);
        cg_dir[0] = 0;
        return 0;
    }
    close(fd);
    return 1;
}

static long cg_read(const char *file) {
    char path[320], buf[64];
    snprintf(path, sizeof path, "%s/%s", cg_dir, file);
    if (read_file(path, buf, sizeof buf) <= 0) return -1;
    return atol(buf);
}

static void cg_remove(void) {
    if (!cg_dir[0]) return;
    for (int i = 0; i < 200 && rmdir(cg_dir) != 0 && errno == EBUSY; i++) sleep_us(10000);
    cg_dir[0] = 0;
}

static long count_children(pid_t pid) {
    static char buf[1 << 20];
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", pid, pid);
    int len = read_file(path, buf, sizeof buf);
    long n = 0;
    for (int i = 0; i < len; i++)
        if (buf[i] == ' ') n++;
    return n;
}

static int cmd_reap(long n, long cap, char **argv) {
    int have_cg = cg_setup(cap + 256);
    char procs[340];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", cg_dir);
    struct ns ns;
    spawn_ns(argv, 1, 1, have_cg ? procs : NULL, &ns);
    char line[256];
    size_t ll = 0;
    int phase = 0; /* 0: before "start", 1: forking, 2: forked, waiting for the init to reap all */
    uint64_t t_start = 0, t_forked = 0, t_done = 0;
    long peak_sampled = 0, waits = 0, eagain = 0;
    struct snap a, b;
    uint64_t deadline = now_ns() + 180ull * 1000000000u;
    while (phase < 3) {
        if (now_ns() > deadline) {
            kill_ns(&ns);
            cg_remove();
            die("reap: no result after 180 s (phase %d)", phase);
        }
        struct pollfd pf = {ns.out_r, POLLIN, 0};
        int pr = poll(&pf, 1, phase == 0 ? 1000 : 1);
        if (pr > 0) {
            char c;
            ssize_t r = read(ns.out_r, &c, 1);
            if (r <= 0) {
                int st = wait_ns(&ns, WAIT_MS);
                cg_remove();
                die("reap: the generator's output ended early (init status 0x%x)", st);
            }
            if (c != '\n') {
                if (ll < sizeof line - 1) line[ll++] = c;
                continue;
            }
            line[ll] = 0;
            ll = 0;
            if (strncmp(line, "start ", 6) == 0) {
                t_start = strtoull(line + 6, NULL, 10);
                check_ns_init(ns.pid);
                snapshot(ns.pid, &a);
                phase = 1;
            } else if (strncmp(line, "forked ", 7) == 0) {
                char *w = strstr(line, "waits="), *e = strstr(line, "eagain=");
                t_forked = strtoull(line + 7, NULL, 10);
                waits = w ? atol(w + 6) : 0;
                eagain = e ? atol(e + 7) : 0;
                phase = 2;
            }
            continue;
        }
        if (phase == 0) continue;
        /* pending orphans: everything in the namespace but the init and the generator */
        long pending;
        if (have_cg) {
            pending = cg_read("pids.current") - 2;
        } else {
            pending = count_children(ns.pid) - 1;
            if (pending > peak_sampled) peak_sampled = pending;
        }
        if (phase == 2 && pending <= 0) {
            t_done = now_ns();
            phase = 3;
        }
    }
    snapshot(ns.pid, &b);
    long peak = have_cg ? cg_read("pids.peak") - 2 : peak_sampled;
    close(ns.in_w); /* the generator exits at EOF, then the init */
    ns.in_w = -1;
    int st = wait_ns(&ns, WAIT_MS);
    cg_remove();
    printf("orphans=%ld\nwall_ns=%llu\nfork_ns=%llu\npeak=%ld\npeak_source=%s\n", n,
           (unsigned long long)(t_done - t_start), (unsigned long long)(t_forked - t_start), peak,
           have_cg ? "pids.peak" : "sampled");
    printf("cpu_ns=%llu\ncpu_ticks=%llu\nthrottle_waits=%ld\neagain=%ld\nstatus=%d\n", b.run_ns - a.run_ns,
           b.ticks - a.ticks, waits, eagain, st);
    return 0;
}

static int cmd_signal(int n, long gap_us, char **argv) {
    struct ns ns;
    spawn_ns(argv, 0, 1, NULL, &ns);
    uint64_t t;
    if (read_exact(ns.out_r, &t, sizeof t, WAIT_MS) != 0 || t != 0) {
        kill_ns(&ns);
        die("signal: the child never became ready");
    }
    check_ns_init(ns.pid);
    sleep_us(50000);
    int lost = 0;
    for (int i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        kill(ns.pid, SIGUSR1); /* our unreaped child, PID 1 of its namespace (checked above) */
        if (read_exact(ns.out_r, &t, sizeof t, 2000) != 0) {
            if (++lost >= 5) {
                kill_ns(&ns);
                die("signal: %d signals never reached the child", lost);
            }
            continue;
        }
        printf("sample=%llu\n", (unsigned long long)(t - t0));
        sleep_us(gap_us);
    }
    printf("lost=%d\n", lost);
    kill_ns(&ns);
    return 0;
}

/* Minor page faults of pid so far (field 10 of /proc/PID/stat), 0 if it cannot be read. */
static long minflt(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (read_file(path, buf, sizeof buf) < 0) return 0;
    char *p = strrchr(buf, ')');
    long v = 0;
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %ld", &v) == 1) return v;
    return 0;
}

static int cmd_stop(int n, char **argv) {
    for (int i = 0; i < n; i++) {
        struct ns ns;
        spawn_ns(argv, 0, 1, NULL, &ns);
        char c;
        if (read_exact(ns.out_r, &c, 1, WAIT_MS) != 0) {
            kill_ns(&ns);
            die("stop: the child never became ready");
        }
        check_ns_init(ns.pid);
        sleep_us(20000);
        /* page faults so far of the init and of its children (the child, for a real init) */
        char path[64], kids[256];
        snprintf(path, sizeof path, "/proc/%d/task/%d/children", ns.pid, ns.pid);
        long before = minflt(ns.pid);
        struct snap sn;
        snapshot(ns.pid, &sn);
        unsigned long long cpu_before = sn.run_ns;
        if (read_file(path, kids, sizeof kids) > 0)
            for (char *tok = strtok(kids, " \n"); tok; tok = strtok(NULL, " \n")) {
                before += minflt(atoi(tok));
                snapshot(atoi(tok), &sn);
                cpu_before += sn.run_ns;
            }
        uint64_t t0 = now_ns();
        kill(ns.pid, SIGTERM); /* our unreaped child, PID 1 of its namespace (checked above) */
        struct pollfd p = {ns.pidfd, POLLIN, 0};
        int pr;
        while ((pr = poll(&p, 1, WAIT_MS)) < 0 && errno == EINTR) {
        }
        uint64_t t1 = now_ns();
        if (pr == 0) {
            kill_ns(&ns);
            die("stop: %s did not exit within %d ms of SIGTERM", argv[0], WAIT_MS);
        }
        /* the init's rusage includes the children it reaped: faults after SIGTERM of both */
        int st = 0;
        struct rusage ru;
        while (wait4(ns.pid, &st, 0, &ru) < 0 && errno == EINTR) {
        }
        close(ns.pidfd);
        close(ns.out_r);
        unsigned long long cpu_after = (unsigned long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
                                       (unsigned long long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
        printf("sample=%llu\nstatus=%d\nfaults=%ld\ncpu_ns=%lld\n", (unsigned long long)(t1 - t0), st,
               ru.ru_minflt - before, (long long)(cpu_after - cpu_before));
    }
    return 0;
}

int main(int argc, char **argv) {
    int dd = 0;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            dd = i;
            break;
        }
    if (argc < 2 || dd == 0 || dd + 1 >= argc) {
        fprintf(stderr, "usage: nsbench startup N | idle SECS | reap N CAP | signal N GAP_US | stop N -- CMD...\n");
        return 2;
    }
    char **cmd = argv + dd + 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *m = argv[1];
    if (strcmp(m, "startup") == 0 && dd == 3) return cmd_startup(atoi(argv[2]), cmd);
    if (strcmp(m, "idle") == 0 && dd == 3) return cmd_idle(atof(argv[2]), cmd);
    if (strcmp(m, "reap") == 0 && dd == 4) return cmd_reap(atol(argv[2]), atol(argv[3]), cmd);
    if (strcmp(m, "signal") == 0 && dd == 4) return cmd_signal(atoi(argv[2]), atol(argv[3]), cmd);
    if (strcmp(m, "stop") == 0 && dd == 3) return cmd_stop(atoi(argv[2]), cmd);
    fprintf(stderr, "nsbench: bad arguments for %s\n", m);
    return 2;
}
