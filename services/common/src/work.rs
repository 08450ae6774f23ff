//! A bound on the CPU-heavy work anyone can start without credentials: SRP and password checks,
//! SRP challenges, new password verifiers. Each job runs on the blocking pool under a permit; a
//! request that finds every permit taken waits a short while in line and is then refused with
//! `TooManyRequestsException`, so a flood of sign-ins queues briefly instead of piling up
//! blocking tasks without end.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::ErrorCode;
use crate::error::{CognitoError, CognitoResult, internal};

#[derive(Debug, Clone)]
pub struct Work {
    permits: Arc<Semaphore>,
    queue_wait: Duration,
}

impl Work {
    /// At most `concurrent` jobs at once; a job waits at most `queue_wait` for its turn.
    pub fn new(concurrent: usize, queue_wait: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrent)),
            queue_wait,
        }
    }

    /// Runs `job` on the blocking pool once a permit is free.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> CognitoResult<T> {
        let permit = tokio::time::timeout(self.queue_wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| too_many_requests())?
            .map_err(|error| internal("the work permits are closed", error))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        })
        .await
        .map_err(|error| internal("a blocking job failed", error))
    }
}

fn too_many_requests() -> CognitoError {
    CognitoError::new(ErrorCode::TooManyRequestsException, "Too many requests")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_job_past_the_bound_waits_its_turn_then_is_refused() {
        let work = Work::new(1, Duration::from_millis(50));
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel();
        let holder = tokio::spawn({
            let work = work.clone();
            async move {
                work.run(move || {
                    started.send(()).ok();
                    held.recv().ok();
                })
                .await
            }
        });
        running.await.expect("the first job holds the permit");
        let refused = work
            .run(|| ())
            .await
            .expect_err("no permit within the wait");
        assert_eq!(
            (refused.code, refused.message.as_str()),
            (ErrorCode::TooManyRequestsException, "Too many requests")
        );
        // The same permits, with a wait long enough to outlast the first job.
        let patient = Work {
            permits: work.permits.clone(),
            queue_wait: Duration::from_secs(30),
        };
        let waiting = tokio::spawn(async move { patient.run(|| 42).await });
        release.send(()).expect("released");
        holder.await.expect("joined").expect("the first job ran");
        assert_eq!(waiting.await.expect("joined").expect("its turn came"), 42);
    }
}
