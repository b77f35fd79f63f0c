#!/usr/bin/env python3
"""The seed's failing program, rewritten for pidone's examples.

The parent forwards SIGTERM to its multiprocessing child and calls sys.exit(0). The child
catches SIGTERM, says so, and keeps running. sys.exit(0) runs multiprocessing's atexit handler,
which join()s every non-daemon child: the parent sleeps in wait4 forever, and as PID 1 of a
container it ignores `docker stop` until the runtime's SIGKILL.

Under pidone the parent is not PID 1: pidone forwards the SIGTERM, sees that nothing exits,
prints why (the parent waits in wait4 for the child; the child caught SIGTERM), and SIGKILLs
the tree when the grace period ends.
"""
import multiprocessing
import os
import signal
import sys
import time


def child():
    def on_term(signum, frame):
        print(f"Child {os.getpid()}[ppid={os.getppid()}] received SIGTERM, and keeps running", flush=True)

    signal.signal(signal.SIGTERM, on_term)
    print(f"Hello from child {os.getpid()}", flush=True)
    while True:
        time.sleep(1)


def main():
    print(f"Parent process started: {os.getpid()}", flush=True)
    proc = multiprocessing.Process(target=child)
    proc.start()

    def on_term(signum, frame):
        print(f"Gracefully shutting down {os.getpid()}", flush=True)
        print(f"Shutting down process {proc.pid}", flush=True)
        os.kill(proc.pid, signal.SIGTERM)
        # multiprocessing's atexit handler now join()s the child, which never exits.
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)
    # A readiness line for scripts and tests: both processes are up and handlers installed.
    time.sleep(0.2)
    print(f"ready parent={os.getpid()} child={proc.pid}", flush=True)
    while True:
        time.sleep(5)
        print("Parent still alive!", flush=True)


if __name__ == "__main__":
    # fork (the Linux default up to Python 3.13) keeps the child a plain fork of this process.
    multiprocessing.set_start_method("fork")
    main()
