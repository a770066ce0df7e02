//! HEC's JSON replies and status codes, as Splunk documents them.
//!
//! Source: Splunk Enterprise *Getting Data In*, "Troubleshoot HTTP Event Collector" (table of
//! status codes), and "Format events for HTTP Event Collector"; the table is repeated, with
//! the test that pins each reply, in `docs/serve.md`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// One of HEC's documented outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HecStatus {
    /// 200, code 0.
    Success,
    /// 403, code 1.
    TokenDisabled,
    /// 401, code 2.
    TokenRequired,
    /// 401, code 3.
    InvalidAuthorization,
    /// 403, code 4.
    InvalidToken,
    /// 400, code 5.
    NoData,
    /// 400, code 6.
    InvalidDataFormat,
    /// 400, code 7.
    IncorrectIndex,
    /// 500, code 8.
    InternalError,
    /// 503, code 9.
    ServerBusy,
    /// 400, code 10.
    DataChannelMissing,
    /// 400, code 11.
    InvalidDataChannel,
    /// 400, code 12.
    EventFieldRequired,
    /// 400, code 13.
    EventFieldBlank,
    /// 400, code 14.
    AckDisabled,
    /// 400, code 15.
    IndexedFieldsError,
    /// 400, code 16.
    QueryStringAuthDisabled,
    /// 200, code 17 (health).
    Healthy,
    /// 503, code 18 (health).
    UnhealthyQueuesFull,
}

impl HecStatus {
    /// HEC's numeric `code`.
    pub fn code(self) -> u16 {
        use HecStatus::*;
        match self {
            Success => 0,
            TokenDisabled => 1,
            TokenRequired => 2,
            InvalidAuthorization => 3,
            InvalidToken => 4,
            NoData => 5,
            InvalidDataFormat => 6,
            IncorrectIndex => 7,
            InternalError => 8,
            ServerBusy => 9,
            DataChannelMissing => 10,
            InvalidDataChannel => 11,
            EventFieldRequired => 12,
            EventFieldBlank => 13,
            AckDisabled => 14,
            IndexedFieldsError => 15,
            QueryStringAuthDisabled => 16,
            Healthy => 17,
            UnhealthyQueuesFull => 18,
        }
    }

    /// The HTTP status Splunk sends with it.
    pub fn http(self) -> StatusCode {
        use HecStatus::*;
        match self {
            Success | Healthy => StatusCode::OK,
            TokenDisabled | InvalidToken => StatusCode::FORBIDDEN,
            TokenRequired | InvalidAuthorization => StatusCode::UNAUTHORIZED,
            InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            ServerBusy | UnhealthyQueuesFull => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// HEC's `text`.
    pub fn text(self) -> &'static str {
        use HecStatus::*;
        match self {
            Success => "Success",
            TokenDisabled => "Token disabled",
            TokenRequired => "Token is required",
            InvalidAuthorization => "Invalid authorization",
            InvalidToken => "Invalid token",
            NoData => "No data",
            InvalidDataFormat => "Invalid data format",
            IncorrectIndex => "Incorrect index",
            InternalError => "Internal server error",
            ServerBusy => "Server is busy",
            DataChannelMissing => "Data channel is missing",
            InvalidDataChannel => "Invalid data channel",
            EventFieldRequired => "Event field is required",
            EventFieldBlank => "Event field cannot be blank",
            AckDisabled => "ACK is disabled",
            IndexedFieldsError => "Error in handling indexed fields",
            QueryStringAuthDisabled => "Query string authorization is not enabled",
            Healthy => "HEC is healthy",
            UnhealthyQueuesFull => "HEC is unhealthy, queues are full",
        }
    }
}

/// A reply: the status, and for event errors the (0-based) number of the failing event, and
/// for acknowledged requests the ack id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HecReply {
    status: HecStatus,
    invalid_event: Option<usize>,
    ack_id: Option<u64>,
}

impl HecReply {
    /// A reply with no extra member.
    pub fn new(status: HecStatus) -> HecReply {
        HecReply {
            status,
            invalid_event: None,
            ack_id: None,
        }
    }

    /// An event error naming the failing event (`"invalid-event-number"`).
    pub fn at_event(status: HecStatus, event: usize) -> HecReply {
        HecReply {
            invalid_event: Some(event),
            ..HecReply::new(status)
        }
    }

    /// Success with an `ackId`.
    pub fn acked(ack_id: u64) -> HecReply {
        HecReply {
            ack_id: Some(ack_id),
            ..HecReply::new(HecStatus::Success)
        }
    }

    /// The status.
    pub fn status(&self) -> HecStatus {
        self.status
    }

    /// The JSON body, members in Splunk's order.
    pub fn body(&self) -> String {
        let mut s = format!(
            "{{\"text\":\"{}\",\"code\":{}",
            self.status.text(),
            self.status.code()
        );
        if let Some(n) = self.invalid_event {
            s.push_str(&format!(",\"invalid-event-number\":{n}"));
        }
        if let Some(id) = self.ack_id {
            s.push_str(&format!(",\"ackId\":{id}"));
        }
        s.push('}');
        s
    }
}

impl From<HecStatus> for HecReply {
    fn from(status: HecStatus) -> HecReply {
        HecReply::new(status)
    }
}

impl IntoResponse for HecReply {
    fn into_response(self) -> Response {
        json_response(self.status.http(), self.body())
    }
}

/// A JSON response with the given status.
pub fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// The reply to a request body over the size limit: HTTP 413, as splunkd answers a body
/// over `max_content_length` (the text is splunkd's log message [inferred]).
pub fn too_large(limit: usize) -> Response {
    json_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("{{\"text\":\"Content too large (maximum is {limit} bytes)\",\"code\":6}}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_match_splunks_wording() {
        assert_eq!(
            HecReply::new(HecStatus::Success).body(),
            r#"{"text":"Success","code":0}"#
        );
        assert_eq!(
            HecReply::at_event(HecStatus::InvalidDataFormat, 2).body(),
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":2}"#
        );
        assert_eq!(
            HecReply::acked(7).body(),
            r#"{"text":"Success","code":0,"ackId":7}"#
        );
    }
}
