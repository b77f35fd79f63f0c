/* miniinit: the smallest forwarding init, in three waiting styles, to tell what the waiting
 * primitive costs in the signal-forwarding and reaping rows independently of any real init.
 *
 *   miniinit sigwait  -- CMD...   block every signal, sigwaitinfo() (as tini and dumb-init)
 *   miniinit sfd      -- CMD...   block every signal, blocking read() of a signalfd (as catatonit)
 *   miniinit sfdpoll  -- CMD...   non-blocking signalfd, poll() then read() until EAGAIN (as pidone)
 *
 * With MINIINIT_SETSID=1 in the environment the child calls setsid() first, as dumb-init's does.
 *
 * Forwards every signal but SIGCHLD to the child; on SIGCHLD reaps everything; exits with the
 * child's status once the child is gone. Only for PID 1 of a namespace made by nsbench.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 4 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: miniinit sigwait|sfd|sfdpoll -- CMD...\n");
        return 2;
    }
    const char *mode = argv[1];
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid_t child = fork();
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (getenv("MINIINIT_SETSID")) setsid(); /* as dumb-init does: a new session (and autogroup) */
        execv(argv[3], argv + 3);
        _exit(127);
    }
    int fd = -1, polling = strcmp(mode, "sfdpoll") == 0;
    if (strcmp(mode, "sigwait") != 0) fd = signalfd(-1, &all, SFD_CLOEXEC | (polling ? SFD_NONBLOCK : 0));
    int status = 0;
    for (;;) {
        int sig;
        if (fd < 0) {
            siginfo_t si;
            sig = sigwaitinfo(&all, &si);
            if (sig < 0) continue;
        } else {
            if (polling) {
                struct pollfd p = {fd, POLLIN, 0};
                if (poll(&p, 1, -1) < 0) continue;
            }
            struct signalfd_siginfo si;
            if (read(fd, &si, sizeof si) != sizeof si) continue;
            sig = (int)si.ssi_signo;
            if (polling) {
                struct signalfd_siginfo more;
                while (read(fd, &more, sizeof more) == sizeof more) {
                }
            }
        }
        if (sig != SIGCHLD) {
            kill(child, sig);
            continue;
        }
        for (;;) {
            int st;
            pid_t p = waitpid(-1, &st, WNOHANG);
            if (p <= 0) break;
            if (p == child) status = st, child = 0;
        }
        if (child == 0) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
}
