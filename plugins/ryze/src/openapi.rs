//! The dialect's OpenAPI 3.1 document, served at `GET <mount>/openapi.json`.

use serde_json::{Value, json};

pub(crate) fn err(desc: &str, example: &str) -> Value {
    json!({
        "description": desc,
        "content": { "application/json": {
            "schema": { "$ref": "#/components/schemas/Error" },
            "example": { "success": false, "error": { "message": example } },
        }},
    })
}

pub(crate) fn okr(desc: &str, example: Value) -> Value {
    json!({
        "description": desc,
        "content": { "application/json": {
            "schema": { "$ref": "#/components/schemas/Success" },
            "example": example,
        }},
    })
}

pub(crate) fn instance_param() -> Value {
    json!({ "name": "instance", "in": "path", "required": true,
            "description": "Instance name (an unknown one, or another account's, is 404).",
            "schema": { "type": "string", "minLength": 1 } })
}

/// What core accepts as a number or JID (`core::jid::normalize`): 8-15 digits with the
/// country code (`+`, spaces, dots, dashes and parentheses are ignored), or a JID.
pub(crate) const NUMBER_PATTERN: &str = r"^(\+?[0-9 ().\-]{8,40}|[0-9]{5,20}(:[0-9]+)?@(s\.whatsapp\.net|c\.us)|[0-9]{5,25}(:[0-9]+)?@lid|[0-9]{1,25}(-[0-9]{1,25})?@g\.us)$";

/// The body's `number`: required, and answered 400 when it is not a number or JID.
fn number_schema() -> Value {
    json!({ "type": "string", "minLength": 1, "pattern": NUMBER_PATTERN,
            "description": "Number with country code, 8-15 digits (5511999999999; `+`, spaces, dots, dashes and parentheses are ignored), or a JID (...@s.whatsapp.net, ...@lid, ...@g.us)." })
}

pub(crate) fn body(props: Value, required: &[&str], example: Value) -> Value {
    json!({
        "required": true,
        "content": { "application/json": {
            "schema": { "type": "object", "properties": props, "required": required },
            "example": example,
        }},
    })
}

/// Adds the responses every authenticated route can give (a route's own wording of a
/// status wins).
fn common(mut responses: Value, with_body: bool) -> Value {
    let mut add = |status: &str, r: Value| {
        if responses.get(status).is_none() {
            responses[status] = r;
        }
    };
    add("401", err("Token missing or invalid.", "Invalid token"));
    add(
        "403",
        err(
            "The token lacks the capability the operation needs (read, send or manage).",
            "Token does not have permission for this operation",
        ),
    );
    add(
        "429",
        err(
            "More than the limit per minute.",
            "Rate limit exceeded. Try again later.",
        ),
    );
    if with_body {
        add("413", too_large());
    }
    responses
}

/// The gateway refuses a body over its `max_body_bytes` before the dialect sees it, in
/// the gateway's own error shape.
fn too_large() -> Value {
    json!({
        "description": "The request body is larger than the gateway's max_body_bytes (answered by the gateway, in its own error shape).",
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/GatewayError" } } },
    })
}

pub(crate) fn op(summary: &str, params: Value, body: Option<Value>, responses: Value) -> Value {
    let mut o = json!({
        "summary": summary,
        "parameters": params,
        "responses": common(responses, body.is_some()),
    });
    if let Some(b) = body {
        o["requestBody"] = b;
    }
    o
}

/// (path, method, operationId) of every operation: `links` name operations by id.
const OPERATION_IDS: [(&str, &str, &str); 23] = [
    ("/instance/new", "post", "createInstance"),
    ("/instance/list", "get", "listInstances"),
    ("/instance/status/{instance}", "get", "getInstanceStatus"),
    ("/instance/connect/{instance}", "get", "connectInstance"),
    ("/instance/logout/{instance}", "delete", "logoutInstance"),
    ("/instance/delete/{instance}", "delete", "deleteInstance"),
    ("/message/text/{instance}", "post", "sendText"),
    ("/message/reaction/{instance}", "post", "sendReaction"),
    ("/message/edit/{instance}", "post", "editMessage"),
    ("/chat/markRead/{instance}", "post", "markRead"),
    ("/chat/markUnread/{instance}", "post", "markUnread"),
    ("/chat/presence/{instance}", "post", "sendChatPresence"),
    (
        "/instance/presence/{instance}",
        "post",
        "setInstancePresence",
    ),
    ("/chat/archive/{instance}", "post", "archiveChat"),
    ("/chat/pin/{instance}", "post", "pinChat"),
    ("/chat/mute/{instance}", "post", "muteChat"),
    ("/chat/contacts/{instance}", "get", "listChats"),
    ("/chat/history/{instance}", "post", "chatHistory"),
    ("/chat/delete/{instance}", "delete", "deleteMessage"),
    ("/chat/deleteChat/{instance}", "delete", "deleteChat"),
    ("/events/webhook/{instance}", "post", "setWebhook"),
    ("/events/getWebhook/{instance}", "get", "getWebhook"),
    ("/openapi.json", "get", "openapi"),
];

/// The operations a created instance's name feeds, in the order a client uses them
/// (read, use, then log out and delete).
const USES_OF_CREATED: [&str; 14] = [
    "getInstanceStatus",
    "connectInstance",
    "sendText",
    "archiveChat",
    "pinChat",
    "muteChat",
    "listChats",
    "chatHistory",
    "deleteChat",
    "setWebhook",
    "getWebhook",
    "logoutInstance",
    "deleteInstance",
    "listInstances",
];

/// The 201 of `POST /instance/new`, with `links` from the created instance's name to
/// the operations on it (create -> use -> delete), for generated clients and stateful
/// testers.
fn created(example: Value) -> Value {
    let mut r = okr(
        "Created; `instance.token` is the TokenInstance (shown once).",
        example,
    );
    let links: serde_json::Map<String, Value> = USES_OF_CREATED
        .iter()
        .map(|op| {
            let parameters = if *op == "listInstances" {
                json!({ "query.instanceName": "$response.body#/instance/name" })
            } else {
                json!({ "path.instance": "$response.body#/instance/name" })
            };
            (
                op.to_string(),
                json!({ "operationId": op, "parameters": parameters }),
            )
        })
        .collect();
    r["links"] = Value::Object(links);
    r
}

/// Schemas kept out of `document`'s one `json!` (its macro recursion limit).
fn extra_schemas(doc: &mut Value) {
    let extra = json!({
                "Success": {
                    "type": "object",
                    "required": ["success"],
                    "properties": { "success": { "const": true }, "message": { "type": "string" } },
                },
                "InstanceName": {
                    "type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9._-]+$",
                    "not": { "anyOf": [{ "enum": [".", ".."] }, { "pattern": "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$" }] },
                    "description": "1-64 letters, digits, `.`, `_` or `-`; not `.`/`..` and not shaped like an instance id (a ULID).",
                },
                "GatewayError": {
                    "type": "object",
                    "required": ["error"],
                    "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
                        "code": { "type": "string" }, "message": { "type": "string" } } } },
                }
    });
    if let (Some(schemas), Some(extra)) = (
        doc["components"]["schemas"].as_object_mut(),
        extra.as_object(),
    ) {
        schemas.extend(extra.clone());
    }
}

/// `POST /events/webhook/{instance}`.
fn set_webhook_op(not_found: Value) -> Value {
    op(
        "Create or update the webhook of `label` (upsert by label, default `default`; at most 3 enabled per instance). Without events it receives every type; {\"label\": ..., \"enabled\": false} soft-disables. Deliveries are the Event envelope, signed with HMAC-SHA256 under the webhook's `secret`, with headers x-ryze-label and x-ryze-events. byEvents: true is not supported. mediaBase64: true puts a new media message's bytes, base64, in data.message.media.base64 of this webhook's message.exchange deliveries (when stored and at most 5 MiB; larger: GET /message/download), and its deliveries carry the header x-ryze-media-base64: true. TokenAccount or TokenInstance.",
        json!([instance_param()]),
        Some(json!({
            "required": true,
            "content": { "application/json": {
                "schema": { "type": "object", "properties": {
                    "label": { "type": "string", "maxLength": 64, "default": "default" },
                    "enabled": { "type": "boolean", "default": true },
                    "url": { "type": "string", "format": "uri", "description": "http:// or https://; required when enabled." },
                    "authorization": { "type": "object", "description": "{\"type\": \"Bearer\", \"token\": \"...\"} (sent as Authorization: Bearer ...) or a map of header name to value." },
                    "byEvents": { "type": "boolean", "const": false },
                    "events": { "type": "array", "items": { "$ref": "#/components/schemas/EventName" } },
                    "mediaBase64": { "type": "boolean", "default": false, "description": "Media bytes (base64) in this webhook's message.exchange bodies, as data.message.media.base64." },
                }},
                "example": { "label": "analytics-pipeline", "enabled": true, "url": "https://meuapp.com/webhook",
                             "authorization": { "type": "Bearer", "token": "svc-token-xyz" },
                             "events": ["message.exchange", "instance.state"] },
            }},
        })),
        json!({
            "200": okr("Stored.", json!({ "success": true, "message": "Webhook configured successfully",
                "webhook": { "$ref": "#/components/schemas/Webhook" } })),
            "400": err("Malformed body, unknown event, missing url, byEvents, or a fourth enabled webhook.", "URL is required"),
            "404": not_found,
        }),
    )
}

/// `GET /events/getWebhook/{instance}`.
fn get_webhook_op() -> Value {
    op(
        "The instance's webhooks (enabled and disabled, sorted by label), or with ?label= the one of that label (empty: default).",
        json!([instance_param(), { "name": "label", "in": "query", "schema": { "type": "string" } }]),
        None,
        json!({
            "200": {
                "description": "webhooks (without ?label=) or webhook (with it).",
                "content": { "application/json": {
                    "schema": { "type": "object", "properties": {
                        "success": { "const": true },
                        "webhooks": { "type": "array", "items": { "$ref": "#/components/schemas/Webhook" } },
                        "webhook": { "$ref": "#/components/schemas/Webhook" },
                    }},
                    "example": { "success": true, "webhooks": [{ "label": "default", "enabled": true,
                        "url": "https://meuapp.com/webhook", "authorization": null, "byEvents": false, "events": [],
                        "mediaBase64": false, "id": "wh_01J...", "secret": "whsec_...", "createdAt": "2026-04-28T10:30:00Z" }] },
                }},
            },
            "404": err("Instance not found, or no webhook with that label.", "Webhook not found"),
        }),
    )
}

pub(crate) fn document() -> String {
    let not_found = || {
        err(
            "Instance does not exist (or is not visible to the token).",
            "Instance not found",
        )
    };
    let not_connected = || {
        err(
            "No active WhatsApp session.",
            "Instance is not connected to WhatsApp",
        )
    };
    let bad_body = || err("Malformed JSON.", "Invalid request body");
    let number_required = || err("Missing `number`.", "Number is required");
    let number_body = |extra: Value, example: Value| {
        let mut props = json!({ "number": number_schema() });
        if let (Some(p), Some(e)) = (props.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        body(props, &["number"], example)
    };

    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "wagate: RyzeAPI dialect",
            "version": "0.1.0",
            "description": "RyzeAPI-compatible WhatsApp API served by wagate. Authenticate with the `token` header: a TokenAccount (whole account) or a TokenInstance (one instance, returned by POST /api/instance/new). Every authenticated answer carries X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset (Unix seconds); the limit is per token, 100/min (instance creation 20/min).",
        },
        "servers": [{ "url": "/api" }],
        "security": [{ "token": [] }],
        "components": {
            "securitySchemes": {
                "token": { "type": "apiKey", "in": "header", "name": "token" },
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["success", "error"],
                    "properties": {
                        "success": { "const": false },
                        "error": { "type": "object", "required": ["message"],
                                   "properties": { "message": { "type": "string" } } },
                    },
                },
                "EventName": {
                    "type": "string",
                    "description": "RyzeAPI event types. wagate emits message.exchange (messages, revocations), message.status (a receipt raised a message to sent, delivered, read or played), call.update (someone called), group.flow (a group change WhatsApp announced: joined, info or participants), instance.state (connection, QR, deletion) and label.update (a label edited on the phone, or put on or taken off a chat).",
                    "enum": ["message.exchange", "message.status", "call.update", "group.flow", "instance.state", "label.update"],
                },
                "Webhook": {
                    "type": "object",
                    "properties": {
                        "label": { "type": "string" },
                        "enabled": { "type": "boolean" },
                        "url": { "type": ["string", "null"], "description": "null while disabled." },
                        "authorization": { "type": ["object", "null"], "description": "The headers sent with each delivery (lower-case names); null when none or disabled." },
                        "byEvents": { "const": false },
                        "events": { "type": "array", "items": { "$ref": "#/components/schemas/EventName" }, "description": "Empty: every type." },
                        "mediaBase64": { "type": "boolean", "description": "As saved (false while disabled)." },
                        "id": { "type": "string", "description": "wagate's webhook id (changes on every upsert of the instance's webhooks)." },
                        "secret": { "type": "string", "description": "HMAC-SHA256 key of the deliveries' signature." },
                        "createdAt": { "type": "string", "format": "date-time" },
                    },
                },
                "Event": {
                    "type": "object",
                    "description": "Webhook/WebSocket envelope. event: message.exchange (data.type message | message_revoke; a media message's data.message.media, and with the webhook's mediaBase64 also data.message.media.base64), message.status (data: {type: message_status, id, status: sent | delivered | read | played, message: {id, fromMe, direction, chat, timestamp}}) call.update (data: {id, from, chat, video, group, rejected, missed, timestamp}), group.flow (data: {type: joined, group, info} | {type: info, group, author, change: subject | description | announcement | locked | ephemeralSeconds | approval, value, timestamp} | {type: participants, group, author, action: add | remove | promote | demote, participants: [{jid, phone}], timestamp}) or instance.state.",
                    "properties": {
                        "event": { "type": "string", "enum": ["message.exchange", "message.status", "call.update", "group.flow", "instance.state"] },
                        "data": { "type": "object" },
                        "instanceData": { "type": "object", "properties": {
                            "baseUrl": { "type": "string" }, "instance": { "type": "string" },
                            "token": { "type": ["string", "null"] } } },
                    },
                },
            },
        },
        "paths": {
            "/instance/new": { "post": op(
                "Create an instance (TokenAccount only; 20/min). Returns the TokenInstance.",
                json!([]),
                Some(body(json!({ "name": { "$ref": "#/components/schemas/InstanceName" },
                                  "token": { "type": "string", "maxLength": 0, "description": "Custom tokens are not supported (400); omit it." } }),
                          &["name"], json!({ "name": "my-instance" }))),
                json!({
                    "201": created(json!({ "success": true, "message": "Instance created successfully",
                        "instance": { "id": "01J...", "name": "my-instance", "token": "wai_...", "status": "disconnected",
                                      "connection": { "state": "disconnected", "numberJid": null }, "createdAt": "2026-04-28T10:30:00Z" },
                        "data": { "token": "wai_..." } })),
                    "400": err("Missing name, invalid name, a custom token, or malformed JSON.", "Name is required"),
                    "401": err("Token missing or invalid, or a TokenInstance (only a TokenAccount creates).", "Invalid token"),
                    "409": err("The name is taken.", "Instance name already in use"),
                }),
            )},
            "/instance/list": { "get": op(
                "List instances (the recommended status check). A TokenInstance sees only its own.",
                json!([{ "name": "instanceName", "in": "query", "schema": { "type": "string" },
                         "description": "Comma-separated names (TokenAccount only)." }]),
                None,
                json!({
                    "200": okr("Instances.", json!({ "success": true, "message": "1 Instance found", "data": [
                        { "id": "01J...", "name": "my-instance", "status": "connected",
                          "connection": { "state": "connected", "numberJid": "5511999999999@s.whatsapp.net" },
                          "createdAt": "2026-04-28T10:30:00Z" }] })),
                    "404": not_found(),
                }),
            )},
            "/instance/status/{instance}": { "get": op(
                "One instance's state (wagate convenience; RyzeAPI uses /instance/list?instanceName=).",
                json!([instance_param()]), None,
                json!({ "200": okr("State.", json!({ "success": true, "message": "Instance status retrieved", "status": "connected", "instance": {} })),
                        "404": not_found() }),
            )},
            "/instance/connect/{instance}": { "get": op(
                "Start pairing: a QR code, or an 8-character pairing code with ?number=. qrCodeBase64 is an SVG data URL.",
                json!([instance_param(), { "name": "number", "in": "query", "description": "Ask for a pairing code for this number (8-15 digits with country code).", "schema": { "type": "string", "pattern": "^\\+?[0-9 ().\\-]{8,40}$" } }]), None,
                json!({
                    "200": okr("QR, pairing code, or already connected.", json!({ "success": true, "message": "QR code generated",
                        "qrCode": "2@abc...", "qrCodeBase64": "data:image/svg+xml;base64,...", "status": "qr" })),
                    "400": err("Bad number.", "phone number must be 8-15 digits with country code, e.g. 5511999999999"),
                    "404": not_found(),
                }),
            )},
            "/instance/logout/{instance}": { "delete": op(
                "Log out of WhatsApp; the instance and its token stay.",
                json!([instance_param()]), None,
                json!({ "200": okr("Logged out.", json!({ "success": true, "message": "Instance logged out", "instance": { "status": "loggedout" } })),
                        "404": not_found(),
                        "500": err("Internal failure.", "Failed to logout instance") }),
            )},
            "/instance/delete/{instance}": { "delete": op(
                "Delete the instance and all of its data (TokenAccount only; a TokenInstance gets 401).",
                json!([instance_param()]), None,
                json!({ "200": okr("Deleted.", json!({ "success": true, "message": "Instance deleted", "instance": { "status": "deleted" } })),
                        "404": not_found(),
                        "500": err("Internal failure during teardown.", "Failed to delete instance: <reason>") }),
            )},
            "/message/text/{instance}": { "post": op(
                "Send a text message.",
                json!([instance_param()]),
                Some(number_body(json!({ "message": { "type": "string" } }), json!({ "number": "5511999999999", "message": "Hello!" }))),
                json!({
                    "200": okr("Sent.", json!({ "success": true, "message": "Message sent successfully", "status": "sent",
                        "data": { "messageId": "3EB0...", "direction": "outgoing", "timestamp": "2026-04-28T10:30:00Z",
                                  "chat": { "jid": "5511999999999", "type": "private" }, "sender": { "jid": "5511888888888" },
                                  "content": { "text": "Hello!" } } })),
                    "400": bad_body(), "404": not_found(), "503": not_connected(),
                }),
            )},
            "/chat/archive/{instance}": { "post": op(
                "Archive or unarchive a chat.",
                json!([instance_param()]),
                Some(number_body(json!({ "archive": { "type": "boolean" } }), json!({ "number": "5511999999999", "archive": true }))),
                json!({ "200": okr("Done.", json!({ "success": true, "message": "Chat archived successfully", "chat_jid": "5511999999999@s.whatsapp.net", "archived": true })),
                        "400": number_required(), "404": not_found(), "503": not_connected() }),
            )},
            "/chat/pin/{instance}": { "post": op(
                "Pin or unpin a chat.",
                json!([instance_param()]),
                Some(number_body(json!({ "pin": { "type": "boolean" } }), json!({ "number": "5511999999999", "pin": true }))),
                json!({ "200": okr("Done.", json!({ "success": true, "message": "Chat pinned successfully", "chat_jid": "5511999999999@s.whatsapp.net", "pinned": true })),
                        "400": number_required(), "404": not_found(), "503": not_connected() }),
            )},
            "/chat/mute/{instance}": { "post": op(
                "Mute (for a duration such as 8h, 1w, or always) or unmute a chat.",
                json!([instance_param()]),
                Some(number_body(json!({ "mute": { "type": "boolean" }, "duration": { "type": "string" } }), json!({ "number": "5511999999999", "mute": true, "duration": "8h" }))),
                json!({ "200": okr("Done.", json!({ "success": true, "message": "Chat muted for 8 hours", "chat_jid": "5511999999999@s.whatsapp.net", "muted": true, "duration": 28800 })),
                        "400": err("Bad duration, missing number or malformed JSON.", "Invalid duration: soon"), "404": not_found(), "503": not_connected() }),
            )},
            "/chat/contacts/{instance}": { "get": op(
                "Stored chats: pinned first, then by last activity.",
                json!([instance_param(),
                       { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } },
                       { "name": "offset", "in": "query", "schema": { "type": "integer", "minimum": 0, "default": 0 } },
                       { "name": "search", "in": "query", "schema": { "type": "string" } }]),
                None,
                json!({ "200": okr("Chats.", json!({ "success": true, "message": "1 chats found", "count": 1, "total": 1, "offset": 0, "hasMore": false,
                            "contacts": [{ "jid": "5511999999999@s.whatsapp.net", "number": "5511999999999", "name": null, "type": "private",
                                           "archived": false, "pinned": false, "muted": false, "mutedUntil": null, "lastActivity": "2026-04-28T10:30:00Z" }] })),
                        "400": err("limit out of 1-1000.", "limit must be between 1 and 1000"),
                        "404": not_found() }),
            )},
            "/chat/history/{instance}": { "post": op(
                "A chat's stored messages, newest first; from/to bound the window, nextCursor continues. A chat is named by its number or by its LID; each message also carries chatJidAlt and senderJidAlt, the other address (the phone JID behind a LID, or back) when the instance knows it, else null. A poll also lists pollResults: each option, in order, with its votes and voters (each vote arrives as message.exchange with data.type poll_vote).",
                json!([instance_param()]),
                Some(number_body(json!({ "count": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 50 }, "from": { "type": "string", "format": "date-time" },
                                         "to": { "type": "string", "format": "date-time" }, "cursor": { "type": "string" } }),
                                 json!({ "number": "5511999999999", "count": 50 }))),
                json!({ "200": okr("Messages.", json!({ "success": true, "message": "History retrieved successfully", "chat_jid": "5511999999999@s.whatsapp.net",
                            "count": 1, "hasMore": false, "nextCursor": null, "messages": [{ "id": "3EB0...", "fromMe": false, "direction": "incoming",
                            "senderJid": "5511999999999@s.whatsapp.net", "chatJid": "5511999999999@s.whatsapp.net", "timestamp": "2026-04-28T10:30:00Z",
                            "type": "text", "text": "Hi", "revoked": false, "status": "read" }] })),
                        "400": err("Malformed JSON, missing or invalid number, count out of 1-1000, or a bad date.", "Number is required"), "404": not_found() }),
            )},
            "/chat/delete/{instance}": { "delete": op(
                "Delete a message for everyone (revoke) or only for me.",
                json!([instance_param()]),
                Some(body(json!({ "messageId": { "type": "string", "minLength": 1, "pattern": "\\S" }, "deleteForEveryone": { "type": "boolean", "default": false } }),
                          &["messageId"], json!({ "messageId": "3EB08FCF27E532F1B0F5", "deleteForEveryone": true }))),
                json!({
                    "200": okr("Deleted.", json!({ "success": true, "message": "Message deleted for everyone successfully",
                        "message_id": "3EB08FCF27E532F1B0F5", "chat_jid": "5511999999999@s.whatsapp.net",
                        "delete_type": "revoke", "deleted_for_everyone": true })),
                    "400": err("Malformed JSON or missing messageId.", "MessageID is required"),
                    "404": err("Instance or message not found.", "message not found"),
                    "409": err("Revoking a message already revoked.", "Message was already revoked"),
                    "503": not_connected(),
                }),
            )},
            "/chat/deleteChat/{instance}": { "delete": op(
                "Remove a chat locally, optionally with its stored media.",
                json!([instance_param()]),
                Some(number_body(json!({ "deleteMedia": { "type": "boolean", "default": false } }), json!({ "number": "5511999999999", "deleteMedia": true }))),
                json!({
                    "200": okr("Deleted.", json!({ "success": true, "message": "Chat deleted successfully (including media)",
                        "chat_jid": "5511999999999@s.whatsapp.net", "delete_media": true })),
                    "400": number_required(), "404": not_found(), "503": not_connected(),
                }),
            )},
            "/openapi.json": { "get": {
                "summary": "This document.",
                "security": [],
                "responses": { "200": { "description": "OpenAPI 3.1 JSON." } },
            }},
        },
    });
    doc["paths"]["/events/webhook/{instance}"] = json!({ "post": set_webhook_op(not_found()) });
    doc["paths"]["/events/getWebhook/{instance}"] = json!({ "get": get_webhook_op() });
    extra_schemas(&mut doc);
    media_paths(&mut doc);
    reaction_path(&mut doc);
    presence_paths(&mut doc);
    for (path, method, id) in OPERATION_IDS {
        doc["paths"][path][method]["operationId"] = json!(id);
    }
    for (path, method, id, mut o) in crate::groups::openapi_paths()
        .into_iter()
        .chain(crate::settings::openapi_paths())
        .chain(crate::proxy::openapi_paths())
        .chain(crate::labels::openapi_paths())
        .chain(crate::content::openapi_paths())
        .chain(crate::contacts::openapi_paths())
        .chain(crate::account::openapi_paths())
    {
        o["operationId"] = json!(id);
        doc["paths"][path][method] = o;
    }
    doc.to_string()
}

/// `POST /message/reaction/{instance}` (see `reactions.rs`).
fn reaction_path(doc: &mut Value) {
    doc["paths"]["/message/reaction/{instance}"] = json!({ "post": op(
        "React to a stored message with an emoji; an empty emoji removes this account's reaction. Reactions reach webhooks as message.exchange with data.type reaction.",
        json!([instance_param()]),
        Some(body(
            json!({ "messageId": { "type": "string", "description": "A message this instance stored." },
                    "emoji": { "type": "string", "maxLength": 16, "description": "One emoji; empty removes the reaction." } }),
            &["messageId", "emoji"],
            json!({ "messageId": "3EB0...", "emoji": "👍" }),
        )),
        json!({
            "200": okr("Reacted.", json!({ "success": true, "message": "Reaction sent successfully",
                "data": { "reactionId": "3EB0...", "messageId": "3EB0...", "emoji": "👍", "timestamp": "2026-04-28T10:30:00Z",
                          "chat": { "jid": "5511999999999", "type": "private" } } })),
            "400": err("A missing messageId or emoji, or more than one emoji.", "MessageID is required"),
            "404": err("Unknown instance, or a message this instance did not store.", "message not found"),
            "409": err("The message was revoked.", "A revoked message cannot be reacted to"),
            "503": err("The instance is not connected.", "Instance is not connected to WhatsApp"),
        }),
    )});
}

/// Read receipts and presence (see `presence.rs`), and edits (`edits.rs`).
fn presence_paths(doc: &mut Value) {
    doc["paths"]["/message/edit/{instance}"] = json!({ "post": op(
        "Edit a text message this account sent, within 15 minutes of sending. Edits reach webhooks as message.exchange with data.type message_edit.",
        json!([instance_param()]),
        Some(body(json!({ "messageId": { "type": "string" }, "message": { "type": "string", "minLength": 1, "maxLength": 65536 } }),
                  &["messageId", "message"], json!({ "messageId": "3EB0...", "message": "Fixed text" }))),
        json!({
            "200": okr("Edited.", json!({ "success": true, "message": "Message edited successfully",
                "data": { "messageId": "3EB0...", "timestamp": "2026-04-28T10:30:00Z", "chat": { "jid": "5511999999999", "type": "private" },
                          "content": { "text": "Fixed text" } } })),
            "400": err("A missing messageId or message.", "MessageID is required"),
            "404": err("Unknown instance, or a message this instance did not store.", "message not found"),
            "409": err("Another person's message, a revoked or non-text one, or past the 15 minutes.", "Only messages sent by this account can be edited"),
            "503": err("The instance is not connected.", "Instance is not connected to WhatsApp"),
        }),
    )});
    let not_connected = || {
        err(
            "The instance is not connected.",
            "Instance is not connected to WhatsApp",
        )
    };
    let not_found = || {
        err(
            "Instance does not exist (or is not visible to the token).",
            "Instance not found",
        )
    };
    let number_body = |extra: Value, example: Value| {
        let mut props = json!({ "number": number_schema() });
        if let (Some(p), Some(e)) = (props.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        body(props, &["number"], example)
    };
    doc["paths"]["/chat/markRead/{instance}"] = json!({ "post": op(
        "Send read receipts for stored messages (this account's own are skipped).",
        json!([instance_param()]),
        Some(body(json!({ "messageIds": { "type": "array", "minItems": 1, "maxItems": 256, "items": { "type": "string" } } }),
                  &["messageIds"], json!({ "messageIds": ["3EB0..."] }))),
        json!({
            "200": okr("Marked.", json!({ "success": true, "message": "Messages marked as read", "count": 1 })),
            "400": err("Missing messageIds, or more than 256.", "messageIds is required"),
            "404": err("Unknown instance, or a message this instance did not store.", "message not found"),
            "503": not_connected(),
        }),
    )});
    doc["paths"]["/chat/markUnread/{instance}"] = json!({ "post": op(
        "Mark a stored chat unread on the account's devices.",
        json!([instance_param()]),
        Some(number_body(json!({}), json!({ "number": "5511999999999" }))),
        json!({
            "200": okr("Marked.", json!({ "success": true, "message": "Chat marked as unread", "chat_jid": "5511999999999@s.whatsapp.net" })),
            "400": err("Malformed JSON or a missing number.", "Number is required"),
            "404": err("Unknown instance, or a chat the gateway has not stored.", "Chat not found"),
            "503": not_connected(),
        }),
    )});
    doc["paths"]["/chat/presence/{instance}"] = json!({ "post": op(
        "Show typing or recording in a chat; paused follows after delay milliseconds.",
        json!([instance_param()]),
        Some(number_body(json!({ "presence": { "enum": ["composing", "recording", "paused"] },
                                 "delay": { "type": "integer", "minimum": 0, "maximum": 60000, "default": 0 } }),
                         json!({ "number": "5511999999999", "presence": "composing", "delay": 3000 }))),
        json!({
            "200": okr("Sent.", json!({ "success": true, "message": "Presence sent", "presence": "composing" })),
            "400": err("Missing number, an unknown presence, or a delay over 60000.", "Presence must be composing, recording or paused"),
            "404": not_found(), "503": not_connected(),
        }),
    )});
    doc["paths"]["/instance/presence/{instance}"] = json!({ "post": op(
        "Set the account available (online) or unavailable.",
        json!([instance_param()]),
        Some(body(json!({ "presence": { "enum": ["available", "unavailable"] } }), &["presence"],
                  json!({ "presence": "available" }))),
        json!({
            "200": okr("Set.", json!({ "success": true, "message": "Presence set", "presence": "available" })),
            "400": err("An unknown presence.", "Presence must be available or unavailable"),
            "404": not_found(), "503": not_connected(),
        }),
    )});
}

/// The media routes (see `media.rs`), with their operation ids.
fn media_paths(doc: &mut Value) {
    let responses = |extra: &str| {
        json!({
            "400": err(&format!("A missing field, media that is neither an http(s) URL nor base64, a type the kind cannot carry, or a URL that is unreachable or refused by the gateway's outbound policy.{extra}"), "Media must be an http(s) URL or base64"),
            "404": err("Unknown instance, or an unknown message to reply to.", "Instance not found"),
            "413": err("The media is larger than the gateway's [media] max_bytes.", "media is larger than 67108864 bytes"),
            "503": err("The instance is not connected.", "Instance is not connected to WhatsApp"),
        })
    };
    for (kind, summary) in [
        ("image", "Send an image (JPEG, PNG, WebP)."),
        ("video", "Send a video."),
        (
            "audio",
            "Send an audio file, or with `ptt: true` a voice note.",
        ),
        (
            "document",
            "Send a document (any file; `fileName` names it).",
        ),
        ("sticker", "Send a sticker (WebP)."),
    ] {
        let mut responses = responses("");
        responses["200"] = okr(
            "Sent.",
            json!({ "success": true, "message": "Message sent successfully", "status": "sent",
                "data": { "messageId": "3EB0...", "direction": "outgoing", "timestamp": "2026-04-28T10:30:00Z",
                          "chat": { "jid": "5511999999999", "type": "private" }, "sender": { "jid": "5511888888888" },
                          "content": { "text": "caption", "media": { "type": kind, "mimetype": "image/jpeg", "size": 20480,
                              "sha256": "9f86d0...", "fileName": null, "seconds": null, "width": null, "height": null, "available": true } } } }),
        );
        let mut o = op(
            summary,
            json!([instance_param()]),
            Some(body(
                json!({
                    "number": number_schema(),
                    "media": { "type": "string", "minLength": 1, "description": "An http(s) URL the gateway fetches, base64, or a data: URL." },
                    "caption": { "type": "string" }, "fileName": { "type": "string" }, "mimetype": { "type": "string" },
                    "ptt": { "type": "boolean", "description": "audio only: send as a voice note" },
                    "replyTo": { "type": "string", "description": "id of a stored message to reply to" },
                    "mentions": { "type": "array", "items": { "type": "string" } },
                }),
                &["number", "media"],
                json!({ "number": "5511999999999", "media": "https://example.com/photo.jpg", "caption": "Hello!" }),
            )),
            responses,
        );
        o["operationId"] = json!(format!("send{}{}", kind[..1].to_uppercase(), &kind[1..]));
        doc["paths"][format!("/message/{kind}/{{instance}}")] = json!({ "post": o });
    }
    let mut download = op(
        "A stored message's media: the bytes with their Content-Type, or with `format=base64` a JSON envelope.",
        json!([
            instance_param(),
            { "name": "messageId", "in": "query", "required": true, "schema": { "type": "string", "minLength": 1 } },
            { "name": "format", "in": "query", "required": false, "schema": { "enum": ["binary", "base64"] } },
        ]),
        None,
        json!({
            "200": { "description": "The media.", "content": {
                "application/octet-stream": { "schema": { "type": "string", "format": "binary" } },
                "application/json": { "schema": { "$ref": "#/components/schemas/Success" } } } },
            "400": err("`messageId` missing, or an unknown `format`.", "MessageID is required"),
            "404": err("Unknown instance or message, a message without media, or media whose bytes are not stored.", "The message has no media"),
        }),
    );
    download["operationId"] = json!("downloadMedia");
    doc["paths"]["/message/download/{instance}"] = json!({ "get": download });
}

#[cfg(test)]
mod tests {
    #[test]
    fn is_openapi_3_1_with_the_seed_paths() {
        let v: serde_json::Value = serde_json::from_str(&super::document()).unwrap();
        assert_eq!(v["openapi"], "3.1.0");
        for p in [
            "/chat/deleteChat/{instance}",
            "/chat/delete/{instance}",
            "/instance/delete/{instance}",
        ] {
            assert!(v["paths"][p]["delete"].is_object(), "{p}");
        }
        assert!(v["paths"]["/events/webhook/{instance}"]["post"].is_object());
        assert!(v["paths"]["/events/getWebhook/{instance}"]["get"].is_object());
    }
}
