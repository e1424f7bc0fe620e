//! When the next automatic sync runs.
//!
//! The background keeps one `chrome.alarms` alarm for the next sync and re-creates it from the
//! stored plan on every start (browsers may drop alarms on restart; Firefox always does). The
//! plan is:
//!
//! - every `interval` minutes (the user's choice: 5, 15, 30 or 60; 0 is off);
//! - moved by up to ±10 % at random, so the installs that share a setting do not all ask an
//!   exchange on the same second;
//! - after consecutive failed syncs (every account failing, the network down), doubled for each
//!   failure, up to [`MAX_BACKOFF_MS`], so a broken connection is not hammered; one good sync
//!   returns to the plain interval. Rate limits are separate: each exchange's own capped wait is
//!   honoured by the refresh engine.
//!
//! The counts of failures and the next time are stored, so the backoff survives a service-worker
//! restart; a stored time in the past, or further ahead than any plan could put it (a clock set
//! back, damaged storage), is replaced by a fresh plan.

use crate::{entropy::Entropy, error::Result};

/// The intervals the options page offers, in minutes; 0 is off.
pub const INTERVALS_MINUTES: [u32; 5] = [0, 5, 15, 30, 60];

/// The longest wait a backoff reaches.
pub const MAX_BACKOFF_MS: u64 = 6 * 60 * 60 * 1000;

/// Chrome runs alarms of packed MV3 extensions at most every 30 s; a sync is never planned closer.
const MIN_DELAY_MS: u64 = 30_000;

const MINUTE_MS: u64 = 60_000;

/// The next sync time for a sync that just ended at `now_ms` after `failures` consecutive failed
/// syncs, or `None` when automatic sync is off. Draws 32 random bits for the jitter.
pub fn next_sync_at(now_ms: u64, interval_minutes: u32, failures: u32, entropy: &mut dyn Entropy) -> Result<Option<u64>> {
    if interval_minutes == 0 {
        return Ok(None);
    }
    let base = planned_delay(interval_minutes, failures);
    // ±10 %: a random offset in [−base/10, +base/10].
    let spread = base / 5;
    let offset = u64::from(entropy.next_u32()?) % (spread + 1);
    let delay = (base - base / 10 + offset).max(MIN_DELAY_MS);
    Ok(Some(now_ms.saturating_add(delay)))
}

/// The stored next time if it is believable, else a fresh plan from `now_ms`.
pub fn restore(now_ms: u64, stored: Option<u64>, interval_minutes: u32, failures: u32, entropy: &mut dyn Entropy) -> Result<Option<u64>> {
    if interval_minutes == 0 {
        return Ok(None);
    }
    let longest = planned_delay(interval_minutes, failures) / 10 * 11;
    match stored {
        Some(at) if at > now_ms && at - now_ms <= longest => Ok(Some(at)),
        // Overdue (the browser was closed or asleep): sync soon, still with a little jitter.
        Some(at) if at <= now_ms => Ok(Some(now_ms + MIN_DELAY_MS + u64::from(entropy.next_u32()?) % MINUTE_MS)),
        _ => next_sync_at(now_ms, interval_minutes, failures, entropy),
    }
}

/// The interval doubled per failure, capped at [`MAX_BACKOFF_MS`] (never below the interval).
fn planned_delay(interval_minutes: u32, failures: u32) -> u64 {
    let interval = u64::from(interval_minutes) * MINUTE_MS;
    let backoff = interval.saturating_mul(1u64 << failures.min(16));
    backoff.min(MAX_BACKOFF_MS.max(interval))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::Entropy;

    const NOW: u64 = 1_795_000_000_000;

    /// Gives the same 32 bits every time.
    struct Fixed(u32);

    impl Entropy for Fixed {
        fn fill(&mut self, dest: &mut [u8]) -> Result<()> {
            for (byte, source) in dest.iter_mut().zip(self.0.to_le_bytes().iter().cycle()) {
                *byte = *source;
            }
            Ok(())
        }
    }

    fn delay(interval: u32, failures: u32, random: u32) -> Option<u64> {
        next_sync_at(NOW, interval, failures, &mut Fixed(random)).unwrap_or_default().map(|at| at - NOW)
    }

    #[test]
    fn off_is_never() {
        assert_eq!(delay(0, 0, 0), None);
        assert_eq!(restore(NOW, Some(NOW + 1), 0, 0, &mut Fixed(0)).unwrap_or_default(), None);
    }

    #[test]
    fn the_interval_with_ten_percent_of_jitter() {
        let fifteen = 15 * MINUTE_MS;
        assert_eq!(delay(15, 0, 0), Some(fifteen - fifteen / 10));
        assert_eq!(delay(15, 0, u32::MAX), Some(fifteen - fifteen / 10 + u64::from(u32::MAX) % (fifteen / 5 + 1)));
        for random in [0, 1, 12345, 180_000, 180_001, u32::MAX] {
            for interval in [5, 15, 30, 60] {
                let d = delay(interval, 0, random).unwrap_or_default();
                let base = u64::from(interval) * MINUTE_MS;
                assert!(d >= base - base / 10 && d <= base + base / 10, "{interval} min, {random}: {d}");
            }
        }
    }

    #[test]
    fn failures_back_off_to_six_hours_and_recover() {
        // With the jitter at the middle of its spread, the delay is the plan itself.
        let base = |failures| {
            let middle = u32::try_from(planned_delay(15, failures) / 10).unwrap_or_default();
            delay(15, failures, middle).unwrap_or_default()
        };
        assert_eq!(base(0), 15 * MINUTE_MS);
        assert_eq!(base(1), 30 * MINUTE_MS);
        assert_eq!(base(2), 60 * MINUTE_MS);
        assert!(base(5) <= MAX_BACKOFF_MS + MAX_BACKOFF_MS / 10);
        assert!(delay(15, 40, 0).is_some_and(|d| d <= MAX_BACKOFF_MS + MAX_BACKOFF_MS / 10), "no overflow");
        // An interval longer than the cap is never shortened by it.
        assert_eq!(planned_delay(60, 0), 60 * MINUTE_MS);
    }

    #[test]
    fn a_restart_keeps_a_believable_plan_and_replaces_others() {
        let plan = Some(NOW + 14 * MINUTE_MS);
        assert_eq!(restore(NOW, plan, 15, 0, &mut Fixed(0)).unwrap_or_default(), plan);
        // Overdue after the browser was closed: soon, within 30 s to 90 s.
        let overdue = restore(NOW, Some(NOW - 3_600_000), 15, 0, &mut Fixed(7)).unwrap_or_default();
        assert!(overdue.is_some_and(|at| (NOW + 30_000..=NOW + 90_000).contains(&at)));
        // A year ahead (the clock went back, or storage was edited): a fresh plan.
        let absurd = restore(NOW, Some(NOW + 365 * 24 * 3_600_000), 15, 0, &mut Fixed(0)).unwrap_or_default();
        assert_eq!(absurd, Some(NOW + 15 * MINUTE_MS - 15 * MINUTE_MS / 10));
        // Nothing stored: a fresh plan. A backoff in progress is kept across the restart.
        assert_eq!(restore(NOW, None, 15, 0, &mut Fixed(0)).unwrap_or_default(), absurd);
        let backing_off = Some(NOW + 100 * MINUTE_MS);
        assert_eq!(restore(NOW, backing_off, 15, 3, &mut Fixed(0)).unwrap_or_default(), backing_off);
    }
}
