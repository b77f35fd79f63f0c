#!/usr/bin/env python3
"""Small, well-behaved test programs for pidone's integration tests, one per mode.

Every mode prints `ready ...` on stdout once its handlers are installed and its helpers are
running, so tests wait for that line instead of sleeping. Every loop is bounded.
"""
import os
import signal
import sys
import time

LIMIT = 60  # no test program lives longer than this


def say(*a):
    print(*a, flush=True)


def record_signals(tag):
    """Print `<tag> got SIGNAME t=<monotonic>` for every catchable signal except CHLD."""
    def handler(signum, frame):
        say(f"{tag} got {signal.Signals(signum).name} pid={os.getpid()} t={time.monotonic():.6f}")
        if signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT) and os.environ.get("EXIT_ON_STOP"):
            sys.exit(0)
    for s in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT,
              signal.SIGWINCH, signal.SIGPIPE):
        signal.signal(s, handler)


def sleep_forever():
    end = time.monotonic() + LIMIT
    while time.monotonic() < end:
        time.sleep(0.05)


def mode_signals(args):
    """Record signals; with `grandchild`, also fork a grandchild in the same group, and with
    `detached-grandchild` one in its own session (outside the child's group)."""
    kids = []
    for kind in args:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            if kind == "detached-grandchild":
                os.setsid()
            record_signals(kind)
            os.write(w, b"x")
            sleep_forever()
            os._exit(0)
        os.read(r, 1)
        kids.append(f"{kind}={pid}")
    record_signals("child")
    say("ready", f"child={os.getpid()}", *kids, f"pgid={os.getpgid(0)}")
    sleep_forever()


def mode_ignore_term(args):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    say("ready", f"child={os.getpid()}")
    sleep_forever()


def mode_orphans(args):
    """Make N double-forked orphans that exit at once, then wait (bounded) until /proc shows
    no zombie in this PID namespace, and print the count of zombies seen last."""
    n = int(args[0])
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            if os.fork() == 0:
                os._exit(0)
            os._exit(0)
        os.waitpid(pid, 0)
    deadline = time.monotonic() + 20
    zombies = -1
    while time.monotonic() < deadline:
        zombies = 0
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                            zombies += 1
                except OSError:
                    pass
        if zombies == 0:
            break
        time.sleep(0.01)
    say(f"zombies={zombies}")


def mode_grandchild_survives(args):
    """The child leaves a grandchild that ignores SIGTERM, and exits 0 on SIGTERM itself."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.write(w, b"x")
        sleep_forever()
        os._exit(0)
    os.read(r, 1)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
    say("ready", f"child={os.getpid()}", f"grandchild={pid}")
    sleep_forever()


def mode_daemon(args):
    """Double-fork a daemon that needs 0.5 s to shut down cleanly on SIGTERM, then exit 0 at
    once: the daemon is an orphan of the init when the main child is gone."""
    marker = args[0]
    r, w = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            def on_term(s, f):
                time.sleep(0.5)  # the clean shutdown: flush, close, remove the pid file
                with open(marker, "w") as m:
                    m.write(f"clean shutdown pid={os.getpid()}\n")
                os._exit(0)
            signal.signal(signal.SIGTERM, on_term)
            os.write(w, f"{os.getpid()}\n".encode())
            sleep_forever()
            os._exit(1)
        os._exit(0)
    daemon = os.read(r, 64).decode().strip()
    say("ready", f"daemon={daemon}")


def mode_background(args):
    """Leave a background process that finishes on its own after SECS and writes a marker."""
    secs, marker = float(args[0]), args[1]
    r, w = os.pipe()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, lambda s, f: (open(marker, "w").write("got SIGTERM\n"), os._exit(1)))
        os.write(w, b"x")
        time.sleep(secs)
        with open(marker, "w") as m:
            m.write("finished\n")
        os._exit(0)
    os.read(r, 1)
    say("ready")


def mode_orphan_tree(args):
    """Leave an orphan that ignores SIGTERM (double fork), report the parent it was reparented
    to, then wait; exit 0 on SIGTERM."""
    r, w = os.pipe()
    mid = os.fork()
    if mid == 0:
        mid_pid = os.getpid()  # in this branch `mid` is 0: fork's return value in the child
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            end = time.monotonic() + 10
            while os.getppid() == mid_pid and time.monotonic() < end:
                time.sleep(0.005)
            os.write(w, f"{os.getpid()} {os.getppid()}\n".encode())
            sleep_forever()
            os._exit(0)
        os._exit(0)
    os.waitpid(mid, 0)
    orphan, ppid = os.read(r, 64).decode().split()
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
    say("ready", f"child={os.getpid()}", f"orphan={orphan}", f"orphan_ppid={ppid}")
    sleep_forever()


def mode_tty(args):
    """Report our process group and the terminal's foreground group, then read one line from
    the terminal: only the foreground group may read it without being stopped by SIGTTIN."""
    say(f"tty pid={os.getpid()} pgid={os.getpgid(0)} fg={os.tcgetpgrp(0)}")


def mode_fds(args):
    open_fds = []
    for fd in range(0, 1024):
        try:
            os.fstat(fd)
            open_fds.append(fd)
        except OSError:
            pass
    say("fds=" + ",".join(map(str, open_fds)))


def mode_status(args):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("SigBlk", "SigIgn", "SigCgt")):
                say(line.strip().replace(":\t", "="))
    say(f"pgid={os.getpgid(0)} pid={os.getpid()} sid={os.getsid(0)}")


def mode_closefds_exec(args):
    """Close every inherited fd above stderr, then exec the rest of argv (a clean start for the
    init, whatever the test runner's own parent left open)."""
    os.closerange(3, 65536)
    os.execvp(args[0], args)


def mode_broken_stderr_exec(args):
    """Exec the rest of argv with stderr a pipe nobody reads: every write to it fails with
    EPIPE and raises SIGPIPE in the writer."""
    r, w = os.pipe()
    os.close(r)
    os.dup2(w, 2)
    os.close(w)
    os.execvp(args[0], args)


def mode_exec_with_mask(args):
    """Block SIGUSR1 and ignore SIGHUP, then exec the rest of argv: an init started this way
    must hand exactly this state to its child."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # Undo what the Python runtime itself ignores at start-up, so only HUP is ours.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    os.closerange(3, 65536)
    os.execvp(args[0], args)


def mode_exit_on_term(args):
    signal.signal(signal.SIGTERM, lambda s, f: (say(f"child got SIGTERM t={time.monotonic():.6f}"), os._exit(0)))
    say("ready", f"child={os.getpid()}")
    sleep_forever()


if __name__ == "__main__":
    globals()["mode_" + sys.argv[1].replace("-", "_")](sys.argv[2:])
