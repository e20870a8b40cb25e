#!/usr/bin/env python3
"""Traffic generator used to make samples/loopback.pcap (see README.md).

Run it while tcpdump captures on lo; it only talks to 127.0.0.1 and ::1.
Needs curl and python3. SPDX-License-Identifier: MIT OR Apache-2.0
"""
import socket, subprocess, time, sys, threading

def smtp_server(port=2525):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', port)); s.listen(4)
    c, _ = s.accept()
    c.sendall(b'220 mx.example.test ESMTP ready\r\n')
    f = c.makefile('rb')
    for line in f:
        if line.upper().startswith(b'EHLO'):
            c.sendall(b'250-mx.example.test\r\n250 SIZE 1000000\r\n')
        elif line.upper().startswith(b'QUIT'):
            c.sendall(b'221 bye\r\n'); break
    c.close(); s.close()

def plain_server(fam, addr, port, n):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(8)
    for _ in range(n):
        c, _ = s.accept()
        c.sendall(b'hi\n'); c.recv(100); c.close()
    s.close()

def plain_client(fam, addr, port, ttl=None, rcvbuf=None, mss=None):
    s = socket.socket(fam, socket.SOCK_STREAM)
    if ttl is not None:
        if fam == socket.AF_INET:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
        else:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if mss is not None:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
    s.connect((addr, port))
    s.recv(10); s.sendall(b'bye\n'); s.close()

def curl(*args):
    subprocess.run(['curl', '-s', '-o', '/dev/null'] + list(args), check=True)

P = 1.2
# two HTTP servers: one on IPv4, one on IPv6
h1 = subprocess.Popen([sys.executable, '-m', 'http.server', '8080', '--bind', '127.0.0.1'],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
h2 = subprocess.Popen([sys.executable, '-m', 'http.server', '8081', '--bind', '::1'],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(1.5)
try:
    curl('http://127.0.0.1:8080/')
    time.sleep(P)
    curl('-H', 'Accept-Language: de-DE,de;q=0.9', 'http://127.0.0.1:8080/index.html')
    time.sleep(P)
    curl('-g', 'http://[::1]:8081/')
    time.sleep(P)
    curl('-A', 'Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0',
         'http://127.0.0.1:8080/')
    time.sleep(P)
    curl('-g', 'http://[::1]:8081/index.html')
    time.sleep(P)
    curl('http://127.0.0.1:8080/')
    time.sleep(P)

    # plain TCP with different client stacks
    t = threading.Thread(target=plain_server, args=(socket.AF_INET, '127.0.0.1', 9000, 3)); t.start()
    time.sleep(0.3)
    plain_client(socket.AF_INET, '127.0.0.1', 9000)
    time.sleep(P)
    plain_client(socket.AF_INET, '127.0.0.1', 9000, ttl=128, rcvbuf=4096)
    time.sleep(P)
    plain_client(socket.AF_INET, '127.0.0.1', 9000, ttl=255, rcvbuf=16384, mss=1200)
    t.join(); time.sleep(P)
    t = threading.Thread(target=plain_server, args=(socket.AF_INET6, '::1', 9001, 1)); t.start()
    time.sleep(0.3)
    plain_client(socket.AF_INET6, '::1', 9001, ttl=128, rcvbuf=4096)
    t.join(); time.sleep(P)

    # SMTP-like exchange
    t = threading.Thread(target=smtp_server); t.start()
    time.sleep(0.3)
    c = socket.create_connection(('127.0.0.1', 2525))
    f = c.makefile('rb')
    f.readline()
    c.sendall(b'EHLO client.example.test\r\n')
    f.readline(); f.readline()
    c.sendall(b'QUIT\r\n'); f.readline(); c.close()
    t.join(); time.sleep(P)
finally:
    h1.terminate(); h2.terminate(); h1.wait(); h2.wait()
