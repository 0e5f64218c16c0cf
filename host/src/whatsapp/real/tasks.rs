//! Counting the tasks of the WhatsApp sessions, so a test (and `/metrics`) can prove
//! that deleting or logging out an instance leaves nothing of it running.
//!
//! whatsapp-rust spawns its background work (keep-alive, read loop helpers, the
//! periodic saver, sync workers, ...) through the [`Runtime`] it is given. The link
//! hands every client a [`CountingRuntime`]: tokio underneath, with each spawned
//! future wrapped so a live-task counter goes up when it starts and down when it ends
//! or is aborted (the wrapper is dropped either way). The gateway's own per-session
//! tasks are spawned through [`spawn_counted`] and counted the same way.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use whatsapp_rust::TokioRuntime;
use whatsapp_rust::wacore::runtime::{AbortHandle, Runtime};

/// Live tasks of all WhatsApp sessions of one link.
#[derive(Clone, Default)]
pub struct TaskCounter(Arc<AtomicI64>);

impl TaskCounter {
    /// Tasks running now; zero once a link's sessions are gone means no task leaked.
    pub fn live(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    fn enter(&self) -> Guard {
        self.0.fetch_add(1, Ordering::SeqCst);
        Guard(self.0.clone())
    }
}

/// Decrements the counter when the task's future is dropped (completed or aborted).
struct Guard(Arc<AtomicI64>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Wraps a future so it is counted from now until it is dropped.
fn counted<F>(counter: &TaskCounter, fut: F) -> impl Future<Output = F::Output> + Send + 'static
where
    F: Future + Send + 'static,
{
    let guard = counter.enter();
    async move {
        let out = fut.await;
        drop(guard);
        out
    }
}

/// Spawns one of the gateway's own session tasks on tokio, counted.
pub fn spawn_counted<F>(counter: &TaskCounter, fut: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(counted(counter, fut))
}

/// whatsapp-rust's tokio runtime with every spawned task counted.
pub struct CountingRuntime {
    counter: TaskCounter,
}

impl CountingRuntime {
    /// A runtime whose spawned tasks are counted in `counter`.
    pub fn new(counter: TaskCounter) -> Self {
        CountingRuntime { counter }
    }
}

#[async_trait]
impl Runtime for CountingRuntime {
    fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send + 'static>>) -> AbortHandle {
        TokioRuntime.spawn(Box::pin(counted(&self.counter, future)))
    }

    fn spawn_detached(&self, future: Pin<Box<dyn Future<Output = ()> + Send + 'static>>) {
        TokioRuntime.spawn_detached(Box::pin(counted(&self.counter, future)))
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        TokioRuntime.sleep(duration)
    }

    fn spawn_blocking(
        &self,
        f: Box<dyn FnOnce() + Send + 'static>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        TokioRuntime.spawn_blocking(f)
    }

    fn yield_now(&self) -> Option<Pin<Box<dyn Future<Output = ()> + Send>>> {
        TokioRuntime.yield_now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_tasks_until_they_end_or_are_aborted() {
        let counter = TaskCounter::default();
        let rt = CountingRuntime::new(counter.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        rt.spawn_detached(Box::pin(async move {
            let _ = rx.await;
        }));
        let forever = rt.spawn(Box::pin(std::future::pending()));
        assert_eq!(counter.live(), 2);
        tx.send(()).unwrap();
        forever.abort();
        for _ in 0..100 {
            if counter.live() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("tasks still counted: {}", counter.live());
    }
}
