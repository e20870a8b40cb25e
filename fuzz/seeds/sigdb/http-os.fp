; A minimal database for http-os.pcap (p0f-rs test data).
classes = unix

[http:request]

label = s:unix:TestOS:1.0
sig   = *:Host,User-Agent::
