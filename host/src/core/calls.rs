//! Incoming calls. WhatsApp Web cannot take a call, so the gateway reports each one
//! (a `call` event) and, by the instance's settings, declines it and texts the caller;
//! and how it ended (a `call_ended` event: missed, or taken or declined on the phone).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Core;
use super::messages::sent_message;
use super::model::{CoreResult, EventPayload, Message};
use crate::core::outbox;
use crate::whatsapp::{CallEnded, IncomingCall};

/// The longest the ingest loop waits for a call's reject to go out.
const REJECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// What the `call` event reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallReport {
    /// The call as WhatsApp offered it.
    #[serde(flatten)]
    pub call: IncomingCall,
    /// The gateway declined it (the instance's `reject_calls`).
    pub rejected: bool,
}

impl Core {
    /// Reports a call and acts on it: declines it when the instance rejects calls,
    /// then sends the instance's call reply (a stored message with its own event).
    /// A call delivered late (`offline`) is only reported: the caller has hung up.
    pub async fn ingest_call(
        self: &Arc<Self>,
        instance_id: &str,
        call: IncomingCall,
    ) -> CoreResult<CallReport> {
        let Some(record) = self.record_by_id(instance_id)? else {
            return Err(super::authz::instance_not_found(
                &super::model::InstanceRef::Id(instance_id.into()),
            ));
        };
        let settings = &record.behaviour;
        let live = !call.offline;
        let mut rejected = false;
        if live && settings.reject_calls {
            // Awaited (the event says whether it was declined), but bounded: the ingest
            // loop must not wait long on one session's socket.
            let reject =
                tokio::time::timeout(REJECT_TIMEOUT, self.link.reject_call(instance_id, &call));
            match reject.await.unwrap_or_else(|_| {
                Err(crate::whatsapp::LinkError::Failed(
                    "the reject was not sent in time".into(),
                ))
            }) {
                Ok(()) => rejected = true,
                Err(e) => {
                    tracing::warn!(instance = %instance_id, call = %call.id, error = %e, "rejecting a call")
                }
            }
        }
        let report = CallReport { call, rejected };
        let event = outbox::event_for(&record.instance, EventPayload::Call(report.clone()));
        self.store
            .write(move |tx| outbox::append(tx, &event).map(|_| ()))
            .await?;
        // The reply is a send (seconds at worst): off the ingest path.
        if live && let Some(reply) = settings.call_reply() {
            let (core, reply) = (self.clone(), reply.to_string());
            let (instance, call) = (record.instance.clone(), report.call.clone());
            tokio::spawn(async move {
                if let Err(e) = core.reply_to_caller(&instance, &call, &reply).await {
                    tracing::warn!(instance = %instance.id, call = %call.id, error = %e, "replying to a caller");
                }
            });
        }
        Ok(report)
    }

    /// Reports how a call ended (missed, or taken or declined on another device).
    /// A call of an instance deleted meanwhile is dropped.
    pub async fn ingest_call_end(&self, instance_id: &str, call: CallEnded) -> CoreResult<()> {
        let Some(instance) = self.instance_of(instance_id)? else {
            return Ok(());
        };
        let event = outbox::event_for(&instance, EventPayload::CallEnded(call));
        self.store
            .write(move |tx| outbox::append(tx, &event).map(|_| ()))
            .await
    }

    async fn reply_to_caller(
        &self,
        instance: &super::model::Instance,
        call: &IncomingCall,
        reply: &str,
    ) -> CoreResult<Message> {
        // A LID caller is answered on its phone number when WhatsApp gave one.
        let chat_jid = super::jid::normalize(call.phone.as_deref().unwrap_or(&call.from))?;
        let sent = self.link.send_text(&instance.id, &chat_jid, reply).await?;
        let message = Message {
            text: Some(reply.to_string()),
            ..sent_message(instance, sent, chat_jid, None)
        };
        self.record_sent(instance.clone(), message).await
    }
}
