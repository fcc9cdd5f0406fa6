//! unbounded-concurrency names the source that really feeds a spawn: in a `select!`, the arm the
//! spawn is in, not the first arm (a shutdown signal feeds nothing).
mod common;

use cargo_backpressure::run::Outcome;

/// (finding line, label lines) of every unbounded-concurrency finding in `source`.
fn spawn_findings(source: &str) -> Vec<(u32, Vec<u32>)> {
    let report = common::lint_source(source);
    report
        .files
        .iter()
        .flat_map(|f| match &f.outcome {
            Outcome::Analysed { findings } => findings.clone(),
            _ => Vec::new(),
        })
        .filter(|f| f.rule == "unbounded-concurrency")
        .map(|f| {
            let labels = f.labels.iter().map(|l| l.region.start.line).collect();
            (f.region.start.line, labels)
        })
        .collect()
}

#[test]
fn the_label_names_the_arm_that_feeds_the_spawn() {
    let source = r#"
use tokio::net::TcpListener;

async fn serve(listener: TcpListener, mut stop: tokio::sync::broadcast::Receiver<()>) {
    loop {
        tokio::select! {
            Ok(signal) = stop.recv() => {
                reload(signal);
            }
            accepted = listener.accept() => {
                if let Ok((socket, _)) = accepted {
                    tokio::spawn(handle(socket));
                }
            }
        }
    }
}
"#;
    assert_eq!(spawn_findings(source), vec![(12, vec![10])]);
}

#[test]
fn after_a_select_the_label_skips_an_arm_that_only_leaves() {
    let source = r#"
use tokio::net::TcpListener;

async fn serve(listener: TcpListener, mut stop: tokio::sync::mpsc::Receiver<()>) {
    loop {
        let socket = tokio::select! {
            _ = stop.recv() => break,
            accepted = listener.accept() => accepted.unwrap().0,
        };
        tokio::spawn(handle(socket));
    }
}
"#;
    assert_eq!(spawn_findings(source), vec![(10, vec![8])]);
}

#[test]
fn after_a_select_the_label_names_the_stream_its_arm_awaits() {
    // `select!` awaits `packets.next()` itself: the arm's future is the source, with no `.await`.
    let source = r#"
use futures::StreamExt;

async fn serve(mut packets: Packets, stop: tokio_util::sync::CancellationToken) {
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let packet = tokio::select! {
            _ = stop.cancelled() => break,
            next = packets.next() => match next {
                Some(packet) => packet,
                None => break,
            },
        };
        tasks.spawn(answer(packet));
    }
}
"#;
    assert_eq!(spawn_findings(source), vec![(14, vec![9])]);
}

#[test]
fn one_finding_per_spawn_even_with_several_sources() {
    let source = r#"
async fn relay(mut a: tokio::sync::mpsc::Receiver<Job>, mut b: tokio::sync::mpsc::Receiver<Job>) {
    loop {
        let job = a.recv().await;
        let other = b.recv().await;
        tokio::spawn(run(job, other));
    }
}
"#;
    assert_eq!(spawn_findings(source), vec![(6, vec![4])]);
}
