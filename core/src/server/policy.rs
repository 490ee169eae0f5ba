//! The failure policy: what a decryption failure costs the common key, the
//! peer and the server that saw it. Pure bookkeeping over records and the
//! server's time in whole seconds; the server object applies it.

/// Seconds since the server was made, read from its clock.
pub(super) type Secs = u32;

/// A deadline that never passes.
pub(super) const FOREVER: Secs = Secs::MAX;

/// The limits a server applies to decryption failures. Every limit is
/// configurable; [`FailurePolicy::server`] and [`FailurePolicy::firmware`]
/// are the defaults (the README justifies them with figures).
///
/// - **Per common key**: after its n-th failure the key is refused for
///   `key_refusal_secs * 2^(n-1)` seconds, and for good after
///   `key_failure_budget` failures. Opening a refused key answers 40002 but
///   is neither a failure nor a reason to extend the window, so a client
///   that never makes a new key is served again once its window ends.
/// - **Per peer** (the identity the application passes to
///   [`Server::open`](super::Server::open)) **and server-wide**: more than
///   `*_failure_limit - 1` failures within `*_window_secs` put the peer (or
///   the whole server) in lockdown: every open and decryption it asks for
///   answers 40002 without RSA work and without decrypting. The first
///   lockdown lasts `lockdown_secs`; each one after doubles, up to
///   `lockdown_max_secs`, and each full `lockdown_max_secs` without a
///   failure takes one doubling back.
/// - **Fresh unwraps**: at most `unwrap_limit` RSA private-key operations
///   per `unwrap_window_secs` (0: no limit); past it, opens of encKeys that
///   are not cached answer 40002 without RSA work.
///
/// A limit of 0 switches that limit off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailurePolicy {
    /// The refusal window of a common key after its first failure (doubled
    /// after each further one).
    pub key_refusal_secs: u32,
    /// Failures after which a common key is refused for good (1 to 255).
    pub key_failure_budget: u32,
    /// Failures of one peer within `peer_window_secs` that start its lockdown.
    pub peer_failure_limit: u32,
    /// The window of `peer_failure_limit`.
    pub peer_window_secs: u32,
    /// Failures of all peers within `server_window_secs` that start the
    /// server-wide lockdown.
    pub server_failure_limit: u32,
    /// The window of `server_failure_limit`.
    pub server_window_secs: u32,
    /// The first lockdown's length (peer or server).
    pub lockdown_secs: u32,
    /// The longest lockdown.
    pub lockdown_max_secs: u32,
    /// RSA private-key operations allowed per `unwrap_window_secs`.
    pub unwrap_limit: u32,
    /// The window of `unwrap_limit`.
    pub unwrap_window_secs: u32,
}

const DAY: u32 = 24 * 60 * 60;

impl FailurePolicy {
    /// The server default: a key refused for 10 s after its first failure,
    /// for good after 8; a peer locked down at its 10th failure in a day,
    /// the server at the 100th of all peers in a day (more than one peer
    /// can reach: 50 on its first day); lockdowns from an hour doubling to
    /// a day; no limit on unwraps (0.2 ms each).
    pub const fn server() -> Self {
        FailurePolicy {
            key_refusal_secs: 10,
            key_failure_budget: 8,
            peer_failure_limit: 10,
            peer_window_secs: DAY,
            server_failure_limit: 100,
            server_window_secs: DAY,
            lockdown_secs: 60 * 60,
            lockdown_max_secs: DAY,
            unwrap_limit: 0,
            unwrap_window_secs: 60,
        }
    }

    /// The firmware default: as [`FailurePolicy::server`], and at most 30
    /// unwraps a minute (0.43 s each on a 100 MHz Cortex-M4: at most a
    /// fifth of the CPU, however many fresh encKeys arrive).
    pub const fn firmware() -> Self {
        FailurePolicy {
            unwrap_limit: 30,
            ..Self::server()
        }
    }

    /// No limits at all but the per-key refusal after each failure (for
    /// tests that count oracle answers).
    pub const fn per_key_only() -> Self {
        FailurePolicy {
            peer_failure_limit: 0,
            server_failure_limit: 0,
            unwrap_limit: 0,
            ..Self::server()
        }
    }

    pub(super) fn is_valid(&self) -> bool {
        let windows_ok = [
            (self.peer_failure_limit, self.peer_window_secs),
            (self.server_failure_limit, self.server_window_secs),
            (self.unwrap_limit, self.unwrap_window_secs),
        ]
        .iter()
        .all(|&(limit, window)| limit == 0 || window > 0);
        let lockdown_ok = (self.peer_failure_limit == 0 && self.server_failure_limit == 0)
            || (self.lockdown_secs > 0 && self.lockdown_secs <= self.lockdown_max_secs);
        (1..=255).contains(&self.key_failure_budget) && windows_ok && lockdown_ok
    }
}

impl Default for FailurePolicy {
    fn default() -> Self {
        Self::server()
    }
}

/// `base * 2^doublings`, saturating at `max` (u32 arithmetic only: 64-bit
/// shifts cost firmware a library routine).
fn doubled(base: u32, doublings: u32, max: u32) -> u32 {
    let mut value = base.min(max);
    for _ in 0..doublings.min(32) {
        value = value.saturating_mul(2).min(max);
    }
    value
}

/// Whole seconds of a millisecond count, saturating below [`FOREVER`],
/// with 32-bit divisions only (a 64-bit division costs firmware about a
/// KiB of library code): 2^32 = 4,294,967 * 1000 + 296.
pub(super) fn secs_of_ms(ms: u64) -> Secs {
    let (high, low) = ((ms >> 32) as u32, ms as u32);
    if high >= 1000 {
        return FOREVER - 1;
    }
    let secs = u64::from(high) * 4_294_967
        + u64::from(low / 1000)
        + u64::from((high * 296 + low % 1000) / 1000);
    secs.min(u64::from(FOREVER - 1)) as Secs
}

fn after(now: Secs, secs: u32) -> Secs {
    now.saturating_add(secs).min(FOREVER - 1)
}

/// What the server remembers of a common key that failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct KeyRecord {
    pub(super) failures: u8,
    /// Refused while `now < refused_until`; [`FOREVER`] once the budget is spent.
    pub(super) refused_until: Secs,
}

impl KeyRecord {
    pub(super) fn is_refused(&self, now: Secs) -> bool {
        now < self.refused_until
    }

    /// One more failure: a longer window, or refusal for good.
    pub(super) fn fail(&mut self, now: Secs, policy: &FailurePolicy) {
        self.failures = self.failures.saturating_add(1);
        self.refused_until = if u32::from(self.failures) >= policy.key_failure_budget {
            FOREVER
        } else {
            let window = doubled(
                policy.key_refusal_secs,
                u32::from(self.failures) - 1,
                u32::MAX,
            );
            after(now, window)
        };
    }
}

/// A failure limit with lockdown, for one peer or for the whole server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Limiter {
    /// Failures in the current window.
    pub(super) failures: u32,
    pub(super) window_end: Secs,
    pub(super) locked_until: Secs,
    pub(super) last_failure: Secs,
    /// Lockdowns so far (less the ones idle time took back).
    pub(super) level: u8,
    /// A lockdown started and its end was not reported yet.
    pub(super) locked: bool,
}

/// What a limiter is configured with.
#[derive(Clone, Copy)]
pub(super) struct Limits {
    pub(super) failures: u32,
    pub(super) window: u32,
    pub(super) lockdown: u32,
    pub(super) lockdown_max: u32,
}

impl Limits {
    pub(super) fn peer(policy: &FailurePolicy) -> Self {
        Limits {
            failures: policy.peer_failure_limit,
            window: policy.peer_window_secs,
            lockdown: policy.lockdown_secs,
            lockdown_max: policy.lockdown_max_secs,
        }
    }

    pub(super) fn server(policy: &FailurePolicy) -> Self {
        Limits {
            failures: policy.server_failure_limit,
            window: policy.server_window_secs,
            lockdown: policy.lockdown_secs,
            lockdown_max: policy.lockdown_max_secs,
        }
    }
}

/// What a limiter's state change asks the server to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Change {
    None,
    /// A lockdown of this many seconds started.
    Started(u32),
    /// The lockdown is over.
    Ended,
}

impl Limiter {
    /// Whether the limiter is in lockdown now, and whether a lockdown ended
    /// since the last look (reported once).
    pub(super) fn check(&mut self, now: Secs) -> (bool, Change) {
        if now < self.locked_until {
            (true, Change::None)
        } else if self.locked {
            self.locked = false;
            (false, Change::Ended)
        } else {
            (false, Change::None)
        }
    }

    /// One more failure; at the limit, a lockdown starts.
    pub(super) fn fail(&mut self, now: Secs, limits: &Limits) -> Change {
        if limits.failures == 0 {
            return Change::None;
        }
        // Each full longest lockdown without a failure takes a doubling back.
        let idle = now.saturating_sub(self.last_failure) / limits.lockdown_max.max(1);
        self.level = self.level.saturating_sub(idle.min(255) as u8);
        self.last_failure = now;
        if now >= self.window_end {
            self.failures = 0;
            self.window_end = after(now, limits.window);
        }
        self.failures += 1;
        if self.failures < limits.failures {
            return Change::None;
        }
        let length = doubled(limits.lockdown, u32::from(self.level), limits.lockdown_max);
        self.level = self.level.saturating_add(1);
        self.locked_until = after(now, length);
        self.locked = true;
        // The next window starts with the next failure after the lockdown.
        self.failures = 0;
        self.window_end = now;
        Change::Started(length)
    }

    /// Seconds of lockdown left.
    pub(super) fn remaining(&self, now: Secs) -> u32 {
        self.locked_until.saturating_sub(now)
    }
}

/// The fresh-unwrap limit: a count per fixed window.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct UnwrapBudget {
    used: u32,
    window_end: Secs,
}

impl UnwrapBudget {
    /// Takes one unwrap from the budget; `false` when it is spent.
    pub(super) fn take(&mut self, now: Secs, policy: &FailurePolicy) -> bool {
        if policy.unwrap_limit == 0 {
            return true;
        }
        if now >= self.window_end {
            self.used = 0;
            self.window_end = after(now, policy.unwrap_window_secs);
        }
        if self.used >= policy.unwrap_limit {
            return false;
        }
        self.used += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_window_doubles_and_the_budget_refuses_for_good() {
        let policy = FailurePolicy::server();
        let mut key = KeyRecord::default();
        let mut now = 1_000;
        for n in 1..policy.key_failure_budget {
            key.fail(now, &policy);
            let window = 10 << (n - 1);
            assert!(key.is_refused(now + window - 1), "failure {n}");
            assert!(!key.is_refused(now + window), "failure {n}");
            now += window;
        }
        key.fail(now, &policy);
        assert!(key.is_refused(FOREVER - 1));
    }

    /// Failures per day of a limiter that is failed once a second whenever
    /// it is not locked down, for ten days.
    fn failures_per_day_without_pause(limits: &Limits) -> [u32; 10] {
        let mut limiter = Limiter::default();
        let mut per_day = [0u32; 10];
        let mut now: Secs = 0;
        while now < 10 * DAY {
            let (locked, _) = limiter.check(now);
            if !locked {
                per_day[(now / DAY) as usize] += 1;
                limiter.fail(now, limits);
            }
            now += 1;
        }
        per_day
    }

    /// The worst case of the cross-key attack from the victim's own address:
    /// an attacker that fails as often as the peer limit lets it.
    #[test]
    fn a_peer_failing_without_pause_gets_50_failures_the_first_day_and_10_a_day_after() {
        let per_day = failures_per_day_without_pause(&Limits::peer(&FailurePolicy::server()));
        assert_eq!(per_day[0], 50);
        assert!(per_day[1..].iter().all(|&n| n <= 10), "{per_day:?}");
    }

    /// The backstop against an attacker with many addresses: the whole
    /// server gets 500 failures the first day, 100 a day after (and every
    /// client is refused during each lockdown).
    #[test]
    fn the_server_wide_limit_allows_500_failures_the_first_day_and_100_a_day_after() {
        let per_day = failures_per_day_without_pause(&Limits::server(&FailurePolicy::server()));
        assert_eq!(per_day[0], 500);
        assert!(per_day[1..].iter().all(|&n| n <= 100), "{per_day:?}");
    }

    #[test]
    fn failures_below_the_limit_never_lock_and_idle_time_takes_doublings_back() {
        let limits = Limits::peer(&FailurePolicy::server());
        let mut peer = Limiter::default();
        for day in 0..30 {
            for i in 0..9 {
                assert_eq!(peer.fail(day * DAY + i, &limits), Change::None);
            }
        }
        for i in 0..10 {
            peer.fail(40 * DAY + i, &limits);
        }
        assert_eq!(peer.remaining(40 * DAY + 9), 60 * 60);
        assert_eq!(peer.check(40 * DAY + 9), (true, Change::None));
        let after_lockdown = 40 * DAY + 9 + 60 * 60;
        assert_eq!(peer.check(after_lockdown), (false, Change::Ended));
        assert_eq!(peer.check(after_lockdown), (false, Change::None));
        // The next lockdown is twice as long, unless a day passes idle.
        for i in 0..10 {
            peer.fail(42 * DAY + i, &limits);
        }
        assert_eq!(peer.remaining(42 * DAY + 9), 60 * 60);
    }

    #[test]
    fn the_unwrap_budget_renews_each_window() {
        let policy = FailurePolicy::firmware();
        let mut budget = UnwrapBudget::default();
        assert!((0..30).all(|_| budget.take(5, &policy)));
        assert!(!budget.take(64, &policy));
        assert!(budget.take(65, &policy));
    }

    #[test]
    fn seconds_of_milliseconds_match_a_64_bit_division() {
        let mut rng = crate::compact::rsa::tests::TestRng(0x1234_5678_9ABC_DEF1);
        let samples = (0..10_000).map(|_| {
            let value = rand_core::TryRng::try_next_u64(&mut rng).unwrap_or_default();
            value >> (value % 64)
        });
        let edges = [
            0,
            999,
            1000,
            u64::from(u32::MAX),
            1 << 32,
            (1000 << 32) - 1,
            1000 << 32,
        ];
        for ms in samples.chain(edges).chain([u64::MAX]) {
            let expected = (ms / 1000).min(u64::from(FOREVER - 1)) as Secs;
            assert_eq!(secs_of_ms(ms), expected, "{ms} ms");
        }
        assert_eq!(doubled(900, 7, DAY), DAY);
        assert_eq!(doubled(900, 3, DAY), 7200);
        assert_eq!(doubled(u32::MAX, 40, u32::MAX), u32::MAX);
    }

    #[test]
    fn policies_are_checked() {
        assert!(FailurePolicy::server().is_valid());
        assert!(FailurePolicy::firmware().is_valid());
        assert!(FailurePolicy::per_key_only().is_valid());
        let bad = [
            FailurePolicy {
                key_failure_budget: 0,
                ..FailurePolicy::server()
            },
            FailurePolicy {
                peer_window_secs: 0,
                ..FailurePolicy::server()
            },
            FailurePolicy {
                lockdown_secs: 2 * DAY,
                ..FailurePolicy::server()
            },
        ];
        assert!(bad.iter().all(|policy| !policy.is_valid()));
    }
}
