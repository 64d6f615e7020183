#!/usr/bin/env python3
# usage: pair.py MODE ROUNDS name=cmd ...   MODE: lg[:conns[:depth]] | echo:size[:conns] | wrk[:conns]
# Runs each server in turn (order alternating per round) on CPU 1 with GOMAXPROCS=1, the load on
# CPU 0, and prints server CPU per request (utime+stime of the measured window) and paired ratios
# against the first server. PORT in a command is replaced by a fresh port. DUR=seconds per round.
import sys, subprocess, time, socket, json, os, statistics, random
mode, rounds = sys.argv[1], int(sys.argv[2])
servers = [a.split('=',1) for a in sys.argv[3:]]
LG = os.environ.get('LOADGEN', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'bin', 'loadgen'))
DUR = int(os.environ.get('DUR', '4'))
def cpu(pid):
    t = 0
    for tid in os.listdir(f'/proc/{pid}/task'):
        try:
            f = open(f'/proc/{pid}/task/{tid}/stat').read().rsplit(')',1)[1].split()
            t += int(f[11]) + int(f[12])
        except Exception: pass
    return t
def pcpu(pid):
    f = open(f'/proc/{pid}/stat').read().rsplit(')',1)[1].split()
    return int(f[11]) + int(f[12])
def waitport(p):
    for _ in range(200):
        try:
            socket.create_connection(('127.0.0.1', p), 0.1).close(); return
        except OSError: time.sleep(0.05)
    raise SystemExit('port not up')
res = {n: [] for n, _ in servers}
port = 19000
for r in range(rounds):
    order = servers[:] if r % 2 == 0 else servers[::-1]
    for name, cmd in order:
        port += 1
        c = cmd.replace('PORT', str(port))
        p = subprocess.Popen(['taskset', '-c', '1', 'sh', '-c', 'exec env GOMAXPROCS=1 ' + c], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        waitport(port)
        parts = mode.split(':')
        if parts[0] in ('lg', 'echo'):
            if parts[0] == 'lg':
                conns = parts[1] if len(parts) > 1 else '64'; depth = parts[2] if len(parts) > 2 else '1'
                args = ['-conns', conns, '-depth', depth]
            else:
                args = ['-mode', 'echo', '-payload', parts[1], '-conns', parts[2] if len(parts) > 2 else '64']
            lg = subprocess.Popen(['taskset', '-c', '0', LG, '-addr', f'127.0.0.1:{port}', '-warmup', '1s', '-duration', f'{DUR}s'] + args, stdout=subprocess.PIPE, text=True)
            c0 = None
            for line in lg.stdout:
                if 'MEASURE-START' in line: c0 = pcpu(p.pid)
                elif 'MEASURE-END' in line: c1 = pcpu(p.pid)
                elif line.startswith('RESULT'): out = json.loads(line.split(' ',1)[1])
            lg.wait()
            n = out.get('requests') or out.get('Requests')
        else:
            conns = parts[1] if len(parts) > 1 else '64'
            subprocess.run(['taskset','-c','0','wrk','-t1','-c'+conns,'-d1s',f'http://127.0.0.1:{port}/'], capture_output=True)
            c0 = pcpu(p.pid)
            o = subprocess.run(['taskset','-c','0','wrk','-t1','-c'+conns,f'-d{DUR}s',f'http://127.0.0.1:{port}/'], capture_output=True, text=True).stdout
            c1 = pcpu(p.pid)
            n = int([l for l in o.splitlines() if 'requests in' in l][0].split()[0])
        p.kill(); p.wait()
        ns = (c1 - c0) * 1e7 / n
        res[name].append(ns)
        print(f'round {r} {name}: {ns:.0f} ns/req  n={n}', flush=True)
base = servers[0][0]
for name, _ in servers:
    v = res[name]
    print(f'{name}: median {statistics.median(v):.0f} ns', end='')
    if name != base:
        rat = sorted(a/b for a, b in zip(v, res[base]))
        print(f'  paired vs {base}: median {statistics.median(rat):.3f} ({rat[0]:.3f}-{rat[-1]:.3f})', end='')
    print()
