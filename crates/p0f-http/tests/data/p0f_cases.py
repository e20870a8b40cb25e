# Writes p0f_cases.pcap (one TCP flow per case, client 10.0.0.(i+2), port
# 40000+i, each request/response segment its own packet) and p0f_cases.txt
# (the same segments in hex: request segments ; response segments).
# The expected file was made with p0f 3.09b:
#   TZ=UTC p0f -r p0f_cases.pcap -o log; grep 'mod=http' log, dropping the
#   timestamp and the srv= and subj= fields.
import struct
def csum(b):
    if len(b)%2: b+=b'\0'
    s=sum(struct.unpack('!%dH'%(len(b)//2),b)); s=(s>>16)+(s&0xffff); s+=s>>16; return ~s&0xffff
def pkt(src,dst,sport,dport,seq,ack,flags,payload=b''):
    opts=b''
    if flags & 0x02: opts=struct.pack('!BBH',2,4,1460)+b'\x01\x03\x03\x07'
    off=(20+len(opts))//4
    tcp=struct.pack('!HHIIBBHHH',sport,dport,seq,ack,off<<4,flags,65535,0,0)+opts
    srcb=bytes(map(int,src.split('.'))); dstb=bytes(map(int,dst.split('.')))
    ph=srcb+dstb+struct.pack('!BBH',0,6,len(tcp)+len(payload))
    c=csum(ph+tcp+payload); tcp=tcp[:16]+struct.pack('!H',c)+tcp[18:]
    ip=struct.pack('!BBHHHBBH4s4s',0x45,0,20+len(tcp)+len(payload),1,0x4000,64,6,0,srcb,dstb)
    ip=ip[:10]+struct.pack('!H',csum(ip))+ip[12:]
    eth=b'\x00\x01\x02\x03\x04\x05\x00\x01\x02\x03\x04\x06\x08\x00'
    return eth+ip+tcp+payload
CURL=b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"
pad3=b"".join(b"X-Pad: "+b"p"*500+b"\r\n" for _ in range(3))
cases=[
 ([CURL],[b"HTTP/1.1 200 OK\r\nServer: nginx\r\n", b"Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Type: text/html\r\n\r\n"]),
 ([CURL],[b"HTTP/1.1 200 OK\r\n"+pad3, b"Last-Modified: yesterday\r\n\r\n"]),
 ([CURL],[b"HTTP/1.1 200 OK\r\nServer: ngi", b"nx\r\nVary: a\r\n\r\n"]),
 ([CURL],[b"HTTP/1.1 200 OK\r\nServer: ngi", b"nx/1", b".2\r\nVary: a\r\nDate: x\r\n\r\n"]),
 ([CURL],[b"HTTP/1.1 200 OK\r\nServer: nginx\r\n", b"\r\n<html>"]),
 ([b"GET /index.html HT", b"TP/1.1\r", b"\nHost: x\r\nAccept-Language: EN\r\n", b"\r\n"],[b"HTTP/1.0 200 OK\r\nServer: a|b]c\r\nX-U: a|b]c\r\nVary: z\r\nContent-Type: t|x\r\nConnection: a|b\r\n\r\n"]),
 ([b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: \x01bin\r\nAccept: a|b\r\nX-Long: "+b"y"*300+b"\r\nAccept-Language: xx;q=1\r\nReferer: r\r\nCookie:\r\nX-E:\r\n\r\n"],[b"HTTP/1.1 200 OK\r\n\r\n"]),
 ([b"GET / HTTP/1.1\r\n"+b"".join(b"X-%d: v\r\n"%i for i in range(33))+b"\r\n"],[b"HTTP/1.1 200 OK\r\n\r\n"]),
 ([b"GET / HTTP/1.1\r\n"+b"".join(b"X-%d: v\r\n"%i for i in range(32))+b"\r\n"],[b"HTTP/1.1 200 OK\r\n"+b"".join(b"Y-%d: w\r\n"%i for i in range(32))+b"\r\n"]),
 ([b"GET / HTTP/1.1\r\nHost:\tx\r\nAccept:  two\r\nAccept-Language: de\xff\r\n\r\n"],[b"HTTP/1.1 200 OK\r\nServer:\r\nContent-Type: \x00x\r\n\r\n"]),
 ([b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: \x00hidden\r\n\r\n"],[b"HTTP/1.1 200 OK\r\nX: 1\r\n", b"Y: 2\r\n", b"Z: 3\r\n", b"W: 4\r\n\r\n"]),
]

CHROME=b"GET / HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/47.0\r\nAccept: text/html,*/*\r\nAccept-Encoding: gzip, deflate, sdch\r\nAccept-Language: en-US,en;q=0.8\r\n\r\n"
APACHE=b"HTTP/1.1 200 OK\r\nDate: Thu, 27 Nov 2026 03:41:57 GMT\r\nServer: Apache/2.4.57 (Debian)\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\nAccept-Ranges: bytes\r\nContent-Length: 10\r\nKeep-Alive: timeout=5, max=100\r\nConnection: Keep-Alive\r\nContent-Type: text/html\r\n\r\nbody"
cases += [
 ([CHROME],[APACHE]),
 ([CHROME.replace(b"Firefox/47.0", b"Chrome/51.0 Safari/537.36")],[APACHE[:60], APACHE[60:]]),
 ([b"HEAD /x HTTP/1.0\nHost: h\nUser-Agent: a|b]c\n\nGET /y HTTP/1.1\r\n\r\n"],[b"HTTP/1.0 304 Not Modified\nServer: s\n\n"]),
 ([b"GET / HTTP/1.1\r\n" + b"N"*32 + b": v  \r\nAccept-Language: Fr-fr\r\n\r\n"],[b"HTTP/1.1 200 OK\r\nServer: x\r\nVia: 1.1 proxy\r\n\r\n"]),
 ([b"GET / HTTP/1.1\r\n" + b"N"*33 + b": v\r\n\r\n"],[b"HTTP/1.1 200 OK\r\n\r\n"]),
 ([b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"],[b"HTTP/1.1 200 OK\r\n\r\n"]),
 ([b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"],[b"HTTP/1.1 200 OK\r\nServer: y\r\n\r", b"\n"]),
 ([b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"],[b"HTTP/1.1 2", b"00 OK\r\nServer: y\r\nVary: v\r\n\r\n"]),
]
pcap=[struct.pack('<IHHiIII',0xa1b2c3d4,2,4,0,0,65535,1)]
t=1700000000
for i,(req,resp) in enumerate(cases):
    cp=40000+i; c='10.0.0.%d'%(i+2); s='10.1.0.1'
    cs=1000; ss=5000
    seq=[]
    seq.append(pkt(c,s,cp,80,cs,0,0x02))
    seq.append(pkt(s,c,80,cp,ss,cs+1,0x12))
    cs+=1; ss+=1
    seq.append(pkt(c,s,cp,80,cs,ss,0x10))
    for r in req:
        seq.append(pkt(c,s,cp,80,cs,ss,0x18,r)); cs+=len(r)
    for r in resp:
        seq.append(pkt(s,c,80,cp,ss,cs,0x18,r)); ss+=len(r)
    for p in seq:
        t+=1
        pcap.append(struct.pack('<IIII',t,0,len(p),len(p))+p)
open('p0f_cases.pcap','wb').write(b''.join(pcap))
open('p0f_cases.txt','w').write(''.join(','.join(r.hex() for r in req)+';'+','.join(r.hex() for r in resp)+'\n' for req,resp in cases))
