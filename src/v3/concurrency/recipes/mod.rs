//! Go's `contrib/recipes` over the client traits: [`Barrier`],
//! [`DoubleBarrier`], [`Queue`], [`PriorityQueue`] and [`RwMutex`], with
//! Go's key layouts.

mod barrier;
mod double_barrier;
mod key;
mod priority_queue;
mod queue;
mod rwmutex;

pub use barrier::Barrier;
pub use double_barrier::DoubleBarrier;
pub use priority_queue::PriorityQueue;
pub use queue::Queue;
pub use rwmutex::RwMutex;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::concurrency::Session;
    use crate::v3::concurrency::fake::Fake;
    use std::time::Duration;

    #[tokio::test]
    async fn barrier_blocks_until_released() {
        let fake = Fake::default();
        let b = Barrier::new(fake.clone(), "bar");
        b.wait().await.unwrap();
        b.hold().await.unwrap();
        assert!(matches!(
            b.hold().await,
            Err(crate::v3::concurrency::Error::KeyExists)
        ));
        let w = tokio::spawn({
            let b = b.clone();
            async move { b.wait().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!w.is_finished());
        b.release().await.unwrap();
        w.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn queues_are_fifo_and_by_priority() {
        let fake = Fake::default();
        let q = Queue::new(fake.clone(), "q");
        for v in ["1", "2", "3"] {
            q.enqueue(v).await.unwrap();
        }
        for v in ["1", "2", "3"] {
            assert_eq!(q.dequeue().await.unwrap(), v);
        }
        let waiting = tokio::spawn({
            let q = q.clone();
            async move { q.dequeue().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        q.enqueue("late").await.unwrap();
        assert_eq!(waiting.await.unwrap().unwrap(), "late");

        let pq = PriorityQueue::new(fake.clone(), "pq");
        pq.enqueue("low-a", 5).await.unwrap();
        pq.enqueue("high", 1).await.unwrap();
        pq.enqueue("low-b", 5).await.unwrap();
        assert!(fake.kv("pq/00005/0000000000000001").is_some());
        for v in ["high", "low-a", "low-b"] {
            assert_eq!(pq.dequeue().await.unwrap(), v);
        }
    }

    #[tokio::test]
    async fn double_barrier_enters_and_leaves_together() {
        let fake = Fake::default();
        let mut tasks = Vec::new();
        let (tx, mut entered) = tokio::sync::mpsc::unbounded_channel();
        for i in 0..3 {
            let fake = fake.clone();
            let tx = tx.clone();
            tasks.push(tokio::spawn(async move {
                let s = Session::new(fake).await.unwrap();
                let mut b = DoubleBarrier::new(&s, "db", 3);
                b.enter().await.unwrap();
                tx.send(i).unwrap();
                b.leave().await.unwrap();
            }));
            tokio::time::sleep(Duration::from_millis(10)).await;
            if i < 2 {
                assert!(entered.try_recv().is_err(), "entered before all arrived");
            }
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut n = 0;
        while entered.try_recv().is_ok() {
            n += 1;
        }
        assert_eq!(n, 3);
        assert!(fake.kv("db/ready").is_none());
    }
}
