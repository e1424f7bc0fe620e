//! Futures run side by side, as a refresh runs its requests.
//!
//! `futures_util::future::join_all` switches to a task queue (`FuturesOrdered`) above 30 futures
//! and compiles that path, atomics included, for every future type it joins, although a refresh
//! joins a handful: 2-3 KB of wasm per call site. These are the plain form: each wake-up polls
//! every future that has not finished yet.

use std::{
    future::{Future, poll_fn},
    pin::Pin,
    task::Poll,
};

/// Runs `futures` together; their outputs, in the order the futures were given.
pub fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> impl Future<Output = Vec<F::Output>> {
    let mut running: Vec<Option<Pin<Box<F>>>> = Vec::new();
    running.extend(futures.into_iter().map(|future| Some(Box::pin(future))));
    let mut outputs: Vec<Option<F::Output>> = Vec::with_capacity(running.len());
    outputs.extend(running.iter().map(|_| None));
    poll_fn(move |cx| {
        let mut pending = false;
        for (slot, output) in running.iter_mut().zip(outputs.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending { Poll::Pending } else { Poll::Ready(outputs.drain(..).flatten().collect()) }
    })
}

/// Runs `a` and `b` together; both outputs.
pub fn join<A: Future, B: Future>(a: A, b: B) -> impl Future<Output = (A::Output, B::Output)> {
    let (mut a, mut b) = (Some(Box::pin(a)), Some(Box::pin(b)));
    let (mut a_output, mut b_output) = (None, None);
    poll_fn(move |cx| {
        if let Some(future) = &mut a
            && let Poll::Ready(value) = future.as_mut().poll(cx)
        {
            a_output = Some(value);
            a = None;
        }
        if let Some(future) = &mut b
            && let Poll::Ready(value) = future.as_mut().poll(cx)
        {
            b_output = Some(value);
            b = None;
        }
        match (a_output.take(), b_output.take()) {
            (Some(a), Some(b)) => Poll::Ready((a, b)),
            (a, b) => {
                (a_output, b_output) = (a, b);
                Poll::Pending
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::{
        cell::RefCell,
        pin::pin,
        task::{Context, Waker},
    };

    use super::*;

    /// Ready with `value` at its `polls`-th poll, noting each poll in `log`.
    fn ready_after<'a>(value: u32, polls: u32, log: &'a RefCell<Vec<u32>>) -> impl Future<Output = u32> + 'a {
        let mut seen = 0;
        poll_fn(move |cx| {
            log.borrow_mut().push(value);
            seen += 1;
            if seen < polls {
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(value)
            }
        })
    }

    /// Polls `future` until it is ready; how many polls that took, and its output.
    fn run<T>(future: impl Future<Output = T>) -> (usize, T) {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        for polls in 1.. {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return (polls, output);
            }
        }
        unreachable!()
    }

    #[test]
    fn join_all_keeps_the_given_order_whatever_finishes_first() {
        let log = RefCell::new(Vec::new());
        let (polls, outputs) = run(join_all([ready_after(1, 3, &log), ready_after(2, 1, &log), ready_after(3, 2, &log)]));
        assert_eq!(outputs, [1, 2, 3]);
        assert_eq!(polls, 3);
        // A finished future is never polled again.
        assert_eq!(*log.borrow(), [1, 2, 3, 1, 3, 1]);
    }

    #[test]
    fn join_all_of_nothing_is_ready_at_once() {
        let none: Vec<std::future::Ready<u32>> = Vec::new();
        assert_eq!(run(join_all(none)), (1, Vec::new()));
    }

    #[test]
    fn join_waits_for_both_and_polls_neither_after_it_finished() {
        let log = RefCell::new(Vec::new());
        let (polls, outputs) = run(join(ready_after(7, 1, &log), ready_after(8, 3, &log)));
        assert_eq!((polls, outputs), (3, (7, 8)));
        assert_eq!(*log.borrow(), [7, 8, 8, 8]);
    }
}
