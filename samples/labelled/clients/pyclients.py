"""Fetches one URL with a Python HTTP client named on the command line."""
import sys

kind, url = sys.argv[1], sys.argv[2]
if kind == "requests":
    import requests

    requests.get(url, timeout=5)
elif kind == "httpx":
    import httpx

    httpx.get(url, timeout=5)
elif kind == "urllib":
    import urllib.request

    urllib.request.urlopen(url, timeout=5).read()
