#!/usr/bin/env python3
"""Sends one message with Python's smtplib, the way its documentation shows:
SMTP(host) as a context manager and send_message (EHLO name, parameters and
pipelining are the library's defaults).  smtplib_send.py HOST FROM TO..."""
import smtplib
import sys
from email.message import EmailMessage

host, sender, rcpts = sys.argv[1], sys.argv[2], sys.argv[3:]
msg = EmailMessage()
msg["From"] = sender
msg["To"] = ", ".join(rcpts)
msg["Subject"] = "smtplib test"
msg.set_content("A message from Python's smtplib.\n")
with smtplib.SMTP(host, 25, timeout=20) as s:
    s.send_message(msg)
