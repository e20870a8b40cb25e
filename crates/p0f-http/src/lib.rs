//! HTTP/1.x fingerprinting as p0f 3.09b does it.
