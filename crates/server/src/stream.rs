//! Scale-out mode (`--nats URL,...`): an accepted batch goes into a replicated NATS JetStream
//! stream *before* the sensor or agent gets its `200`; stateless replicas then pull from one
//! durable consumer (a consumer group: each message goes to one replica) and store the
//! findings into the shared PostgreSQL database. A message is acknowledged only after its
//! findings are committed, so a replica killed in between gets it redelivered elsewhere; the
//! store keeps one copy per finding id, so redelivery never duplicates. Publishing carries a
//! `Nats-Msg-Id` derived from the batch's ids, so a client retrying the same batch inside the
//! stream's duplicate window is stored in the stream once.
//!
//! The embedded mode (no `--nats`) keeps the in-process queue: the same handlers, the same
//! store calls, one process.

use crate::state::AppState;
use async_nats::jetstream::{self, consumer::pull, stream};
use futures_util::StreamExt;
use minetrace_core::Finding;
use minetrace_store::Source;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The stream, its subject and the shared durable consumer.
pub const STREAM: &str = "MINETRACE_FINDINGS";
pub const SUBJECT: &str = "minetrace.findings";
pub const CONSUMER: &str = "minetrace-store";
/// Messages a replica takes per fetch.
const FETCH_BATCH: usize = 16;
/// How long a delivered message may stay unacknowledged before JetStream redelivers it.
const ACK_WAIT: Duration = Duration::from_secs(30);
/// How long the publisher waits for JetStream's acknowledgement before answering 503.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the NATS cluster is and how the stream is replicated.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// Comma-separated server URLs (any node of the cluster will do; the client learns the rest).
    pub urls: String,
    /// Stream replicas (3 on a 3-node cluster).
    pub replicas: usize,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    #[error("NATS {urls}: {message}")]
    Connect { urls: String, message: String },
    #[error("JetStream: {message}")]
    JetStream { message: String },
}

/// One accepted batch as it travels through the stream.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Envelope {
    /// The enrolled source that submitted it (authenticated by the accepting replica).
    source: String,
    findings: Vec<Finding>,
}

/// The publishing side, shared by the HTTP handlers.
#[derive(Clone)]
pub struct StreamIngest {
    js: jetstream::Context,
}

impl std::fmt::Debug for StreamIngest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamIngest")
    }
}

async fn connect(cfg: &StreamConfig) -> Result<async_nats::Client, StreamError> {
    let addrs: Vec<async_nats::ServerAddr> = cfg
        .urls
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| {
            u.parse().map_err(|e| StreamError::Connect {
                urls: cfg.urls.clone(),
                message: format!("{u}: {e}"),
            })
        })
        .collect::<Result<_, _>>()?;
    async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(5))
        .name("minetrace-server")
        .connect(addrs)
        .await
        .map_err(|e| StreamError::Connect {
            urls: cfg.urls.clone(),
            message: e.to_string(),
        })
}

fn js_err(e: impl std::fmt::Display) -> StreamError {
    StreamError::JetStream {
        message: e.to_string(),
    }
}

/// Creates the stream when it does not exist (file storage, `replicas` copies, 2-minute
/// duplicate window) and returns it.
async fn ensure_stream(
    js: &jetstream::Context,
    cfg: &StreamConfig,
) -> Result<stream::Stream, StreamError> {
    js.get_or_create_stream(stream::Config {
        name: STREAM.into(),
        subjects: vec![SUBJECT.into()],
        storage: stream::StorageType::File,
        num_replicas: cfg.replicas.max(1),
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await
    .map_err(js_err)
}

impl StreamIngest {
    /// Connects and makes sure the stream exists, waiting up to a minute for the cluster to
    /// elect its JetStream leader (nodes starting together need a few seconds).
    pub async fn connect(cfg: &StreamConfig) -> Result<StreamIngest, StreamError> {
        let client = connect(cfg).await?;
        let js = jetstream::new(client);
        let mut last = None;
        for _ in 0..120 {
            match ensure_stream(&js, cfg).await {
                Ok(_) => return Ok(StreamIngest { js }),
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(last.unwrap_or_else(|| js_err("stream not ready")))
    }

    /// Publishes one batch and waits until the stream has stored it (on a quorum of replicas).
    pub async fn publish(&self, source: &str, findings: &[Finding]) -> Result<(), StreamError> {
        let body = serde_json::to_vec(&Envelope {
            source: source.to_string(),
            findings: findings.to_vec(),
        })
        .map_err(js_err)?;
        let mut ids = Sha256::new();
        for f in findings {
            ids.update(f.id.as_bytes());
            ids.update(b"\n");
        }
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", hex::encode(ids.finalize()).as_str());
        let ack = self
            .js
            .publish_with_headers(SUBJECT, headers, body.into())
            .await
            .map_err(js_err)?;
        tokio::time::timeout(PUBLISH_TIMEOUT, ack)
            .await
            .map_err(|_| js_err("no acknowledgement from the stream in time"))?
            .map_err(js_err)?;
        Ok(())
    }
}

/// Starts this replica's storage worker: pulls batches from the shared consumer, stores them,
/// hands the new ids to the local correlator, then acknowledges. Reconnects and retries until
/// `stop` is set.
pub fn spawn_worker(
    state: AppState,
    cfg: StreamConfig,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(error = %e, "stream worker: no runtime");
                return;
            }
        };
        rt.block_on(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Err(e) = work(&state, &cfg, &stop).await {
                    tracing::warn!(error = %e, "stream worker: retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        });
    })
}

async fn work(state: &AppState, cfg: &StreamConfig, stop: &AtomicBool) -> Result<(), StreamError> {
    let client = connect(cfg).await?;
    let js = jetstream::new(client);
    let stream = ensure_stream(&js, cfg).await?;
    let consumer: jetstream::consumer::PullConsumer = stream
        .get_or_create_consumer(
            CONSUMER,
            pull::Config {
                durable_name: Some(CONSUMER.into()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: ACK_WAIT,
                ..Default::default()
            },
        )
        .await
        .map_err(js_err)?;
    let mut sources: HashMap<String, Source> = HashMap::new();
    while !stop.load(Ordering::Relaxed) {
        let mut batch = consumer
            .fetch()
            .max_messages(FETCH_BATCH)
            .expires(Duration::from_secs(1))
            .messages()
            .await
            .map_err(js_err)?;
        while let Some(msg) = batch.next().await {
            let msg = msg.map_err(js_err)?;
            let envelope: Envelope = match serde_json::from_slice(&msg.payload) {
                Ok(e) => e,
                Err(e) => {
                    // Only replicas publish here, after a strict parse: a message that does not
                    // decode is not ours. Terminate it rather than redeliver it forever.
                    tracing::error!(error = %e, "stream worker: undecodable message dropped");
                    let _ = msg.ack_with(jetstream::AckKind::Term).await;
                    continue;
                }
            };
            let source = match sources.get(&envelope.source) {
                Some(s) => s.clone(),
                None => {
                    let store = state.store.clone();
                    let name = envelope.source.clone();
                    let found = tokio::task::spawn_blocking(move || store.list_sources())
                        .await
                        .map_err(js_err)?
                        .map_err(js_err)?
                        .into_iter()
                        .find(|s| s.name == name);
                    match found {
                        Some(s) => {
                            sources.insert(s.name.clone(), s.clone());
                            s
                        }
                        None => {
                            tracing::error!(source = %envelope.source, "stream worker: unknown source; message dropped");
                            let _ = msg.ack_with(jetstream::AckKind::Term).await;
                            continue;
                        }
                    }
                }
            };
            let store = state.store.clone();
            let findings = envelope.findings;
            let outcome =
                tokio::task::spawn_blocking(move || store.ingest_findings(&source, &findings))
                    .await
                    .map_err(js_err)?;
            match outcome {
                Ok(o) => {
                    crate::metrics::Metrics::add(&state.metrics.findings_accepted, o.accepted);
                    crate::metrics::Metrics::add(&state.metrics.findings_duplicate, o.duplicates);
                    state.queue.publish(o.accepted_ids);
                    // Committed: now the stream may forget it. A lost ack only means a
                    // redelivery, which the store answers with duplicates.
                    msg.ack().await.map_err(js_err)?;
                }
                Err(e) => {
                    // Not stored: leave it unacknowledged so it comes back (here or elsewhere).
                    tracing::warn!(error = %e, "stream worker: store failed; message will be redelivered");
                    let _ = msg
                        .ack_with(jetstream::AckKind::Nak(Some(Duration::from_secs(1))))
                        .await;
                }
            }
        }
    }
    Ok(())
}
