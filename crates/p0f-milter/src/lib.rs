//! `p0f-mailpolicy`: the OS-aware mail policy of qpsmtpd's `ident/p0f`
//! plugin, for MTAs that are not qpsmtpd.
//!
//! Two ways for an MTA to ask, sharing one [`p0f_policy::Policy`]:
//! * [`milter`]: the Sendmail/Postfix filter protocol. It can do everything
//!   the plugin did: reject at RCPT with `550 5.7.1 OS Blocked`, and add
//!   `X-P0F-Genre` / `X-P0F-Link-Type` at the end of the message while
//!   removing forged copies. This is the recommended mode.
//! * [`policyd`]: Postfix's policy delegation (`check_policy_service`). It
//!   can reject and prepend the headers, but cannot remove forged ones.
//!
//! Everything is asynchronous (Tokio): each MTA connection is its own task
//! and every p0f query is bounded by timeouts, so one slow p0f answer
//! never holds up other connections. See `docs/mail-policy.md` for the
//! MTA-side settings.

pub mod check;
pub mod metrics;
pub mod milter;
pub mod policyd;
pub mod server;
