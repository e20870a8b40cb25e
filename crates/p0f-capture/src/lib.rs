//! Packet sources: capture files, filters and (later) live capture.
