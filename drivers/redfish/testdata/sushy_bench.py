"""Time power-status reads through Debian's python3-sushy (the peer of
BenchmarkPowerStatus in bench_test.go).

Usage: sushy_bench.py BASE_URL USERNAME PASSWORD_FILE SYSTEM_PATH COUNT

Prints "warm SECONDS" (COUNT reads on one session) and "cold SECONDS"
(COUNT times: log in, read the system's power state, log out).
"""
import sys
import time

import sushy


def main():
    base, user, pwfile, path, count = sys.argv[1:6]
    count = int(count)
    with open(pwfile) as f:
        password = f.readline().rstrip("\n")
    root = sushy.Sushy(base, username=user, password=password)
    system = root.get_system(path)
    start = time.perf_counter()
    for _ in range(count):
        system.refresh()
        assert system.power_state is not None
    print("warm", time.perf_counter() - start)
    del root
    start = time.perf_counter()
    for _ in range(count):
        root = sushy.Sushy(base, username=user, password=password)
        assert root.get_system(path).power_state is not None
        del root
    print("cold", time.perf_counter() - start)


if __name__ == "__main__":
    main()
