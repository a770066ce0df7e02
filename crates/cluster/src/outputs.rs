//! Reading the outputs back: every row, risk event or notable the reducers published, once each,
//! with the window and detection it belongs to.

use crate::collect::{Assembler, read_subject};
use crate::connect::{Cluster, NatsOptions};
use crate::error::ClusterError;
use crate::names::OutputKind;
use crate::wire::{HEADER_DETECTION, HEADER_WINDOW};

/// One output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Its id.
    pub id: String,
    /// `group/scheduled/earliest/latest` (epoch seconds).
    pub window: String,
    /// The detection.
    pub detection: String,
    /// The JSON object.
    pub json: String,
}

/// Every output of a kind, in the order they were first published.
pub fn outputs(options: &NatsOptions, kind: OutputKind) -> Result<Vec<Output>, ClusterError> {
    let rt = crate::runtime()?;
    rt.block_on(async {
        let cluster = Cluster::open(options).await?;
        let mut asm = Assembler::default();
        let mut out = Vec::new();
        read_subject(&cluster.outputs, &cluster.names.output(kind), |msg| {
            let header = |name: &str| {
                msg.headers
                    .as_ref()
                    .and_then(|h| h.get(name))
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default()
            };
            let (window, detection) = (header(HEADER_WINDOW), header(HEADER_DETECTION));
            if let Some((id, whole)) = asm.offer(&msg) {
                out.push(Output {
                    id,
                    window,
                    detection,
                    json: String::from_utf8_lossy(&whole).into_owned(),
                });
            }
            Ok(())
        })
        .await?;
        Ok(out)
    })
}
