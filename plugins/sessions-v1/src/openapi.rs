//! The OpenAPI 3.1 document served at `GET /api/v1/openapi.json`.

use serde_json::{Value, json};

const AUTH_DESCRIPTION: &str = "Send Authorization: Bearer <token>. The router accepts two kinds of token and tries each in turn: a frontend-minted login JWT (verified against the frontend JWKS; the person's org + role are read from it), or an api-key for a script/service (carrying a fixed set of gateway permissions). The bearerFormat: JWT label describes the person-login case.";

const DELETE_CHAT: &str = "Removes the chat in the path (`cid`) from the gateway's **stored copy**, along with its locally stored messages. This is a **local delete only**: it does not delete the chat on WhatsApp, and the chat may reappear if new activity is later ingested for it. On success returns **204 No Content** with no body. Requires the `send` capability. **Errors** - `not_found` (404): the session does not exist, is not owned by the caller's organization, or no chat with that `cid` is stored. - `forbidden` (403): the caller lacks the `send` capability.";

const PATCH_CHAT: &str = "Changes the archive, pin, and mute state of the chat in the path (`cid`) and returns the updated chat. **Partial update:** only the fields you send are changed; omitted fields stay as they are. - `archived` — set the chat's archived state. - `pinned` — set whether the chat is pinned to the top. - `mutedUntil` — mute until this instant, as Unix epoch **milliseconds**. - `unmute` — when `true`, clears any existing mute. Takes precedence over `mutedUntil`. Requires the `send` capability. **Errors** - `not_found` (404): the session does not exist, is not owned by the caller's organization, or no chat with that `cid` is stored. - `validation_error` (422): the request body is malformed. - `forbidden` (403): the caller lacks the `send` capability.";

const LIST_MESSAGES: &str = "Returns a page of messages in the chat named by `cid`, served from the gateway's **stored copy** (the message history the gateway has ingested), newest first. Page through results with `limit` and `cursor`: send the `nextCursor` from the previous response back as `cursor` to fetch the next (older) page. When `nextCursor` is `null` there are no more messages. Requires the `read` capability. **Errors** - `not_found` (404): the session does not exist, is not owned by the caller's organization, or no chat with that `cid` is stored. - `forbidden` (403): the caller lacks the `read` capability.";

pub(crate) fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

pub(crate) fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": r("Error") } }
    })
}

pub(crate) fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

pub(crate) fn sid() -> Value {
    json!({
        "name": "sid", "in": "path", "required": true,
        "description": "The WhatsApp session id (a session is one attached WhatsApp number). The session must be owned by the caller's organization or the request fails with not_found.",
        "schema": { "type": "string" }
    })
}

pub(crate) fn cid() -> Value {
    json!({
        "name": "cid", "in": "path", "required": true,
        "description": "The chat's JID. Format is 123...@s.whatsapp.net for a direct chat or 123...@g.us for a group.",
        "schema": { "type": "string" }
    })
}

fn mid() -> Value {
    json!({ "name": "mid", "in": "path", "required": true, "description": "The WhatsApp message id.", "schema": { "type": "string" } })
}

pub(crate) fn body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

/// One operation with the error responses every authenticated route shares.
pub(crate) fn op(
    id: &str,
    summary: &str,
    description: &str,
    params: Vec<Value>,
    responses: Value,
) -> Value {
    let mut responses = responses;
    let map = responses.as_object_mut().expect("responses is an object");
    map.entry("401")
        .or_insert_with(|| error_response("`unauthorized`: no valid bearer token"));
    json!({
        "operationId": id,
        "summary": summary,
        "description": description,
        "parameters": params,
        "responses": responses,
    })
}

pub(crate) fn page_of(item: &str) -> Value {
    json!({
        "type": "object",
        "required": ["data", "nextCursor"],
        "properties": {
            "data": { "type": "array", "items": r(item) },
            "nextCursor": { "type": ["string", "null"], "description": "Pass back as `cursor` for the next (older) page; `null` when there are no more." }
        }
    })
}

pub(crate) fn document() -> Value {
    let not_found = || {
        error_response(
            "`not_found`: the session does not exist or is not owned by the caller's organization",
        )
    };
    let chat_not_found = || {
        error_response(
            "`not_found`: the session does not exist, is not owned by the caller's organization, or no chat with that `cid` is stored",
        )
    };
    let forbidden = |cap: &str| {
        error_response(&format!(
            "`forbidden`: the caller lacks the `{cap}` capability"
        ))
    };
    let invalid = || error_response("`validation_error`: the request is malformed");
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "wagate sessions/v1",
            "version": "1.0.0",
            "description": "The sessions/v1 API of the wagate WhatsApp gateway. Errors are always {\"error\":{\"code\",\"message\",\"details\"}}."
        },
        "servers": [{ "url": "/api/v1" }],
        "security": [{ "bearerAuth": [] }],
        "paths": {
            "/sessions": {
                "get": op("listSessions", "List sessions", "The sessions of the caller's organization. Requires `read`.", vec![], json!({
                    "200": ok("The sessions", page_of("Session")), "403": forbidden("read")
                })),
                "post": {
                    "operationId": "createSession", "summary": "Create a session",
                    "description": "Creates a session (not yet paired). Requires `manage`.",
                    "requestBody": body(r("CreateSession")),
                    "responses": {
                        "201": ok("The session", r("Session")), "403": forbidden("manage"),
                        "409": error_response("`conflict`: the name is taken"), "422": invalid(),
                        "401": error_response("`unauthorized`")
                    }
                }
            },
            "/sessions/{sid}": {
                "get": op("getSession", "Get a session", "Requires `read`.", vec![sid()], json!({
                    "200": ok("The session", r("Session")), "403": forbidden("read"), "404": not_found()
                })),
                "delete": op("deleteSession", "Delete a session", "Logs the session out if connected and removes it with all its stored chats, messages and media. 204 with no body. Requires `manage`.", vec![sid()], json!({
                    "204": { "description": "Deleted" }, "403": forbidden("manage"), "404": not_found(),
                    "409": error_response("`conflict`: a delete is already running")
                }))
            },
            "/sessions/{sid}/connect": {
                "post": {
                    "operationId": "connectSession", "summary": "Connect (pair) a session",
                    "description": "Starts pairing: returns a QR payload to render, or an 8-character pair code when `phoneNumber` is given. Already connected: the status and no code. Requires `manage`.",
                    "parameters": [sid()],
                    "requestBody": { "required": false, "content": { "application/json": { "schema": r("Connect") } } },
                    "responses": {
                        "200": ok("Pairing information", r("ConnectInfo")), "403": forbidden("manage"),
                        "404": not_found(), "422": invalid(), "401": error_response("`unauthorized`")
                    }
                }
            },
            "/sessions/{sid}/logout": {
                "post": op("logoutSession", "Log a session out", "Unlinks the device; the session and its stored data stay and it can pair again. Requires `manage`.", vec![sid()], json!({
                    "200": ok("The session", r("Session")), "403": forbidden("manage"), "404": not_found()
                }))
            },
            "/sessions/{sid}/chats": {
                "get": op("listChats", "List chats", "Stored chats, pinned first, then by most recent activity. Requires `read`.", vec![sid()], json!({
                    "200": ok("The chats", page_of("Chat")), "403": forbidden("read"), "404": not_found()
                }))
            },
            "/sessions/{sid}/chats/{cid}": {
                "get": op("getChat", "Get a chat", "One stored chat. Requires `read`.", vec![sid(), cid()], json!({
                    "200": ok("The chat", r("Chat")), "403": forbidden("read"), "404": chat_not_found()
                })),
                "patch": {
                    "operationId": "updateChat", "summary": "Update a chat (archive/pin/mute)",
                    "description": PATCH_CHAT,
                    "parameters": [sid(), cid()],
                    "requestBody": body(r("ChatPatch")),
                    "responses": {
                        "200": ok("The updated chat", r("Chat")), "403": forbidden("send"),
                        "404": chat_not_found(), "422": invalid(), "401": error_response("`unauthorized`")
                    }
                },
                "delete": op("deleteChat", "Delete a chat", DELETE_CHAT, vec![sid(), cid()], json!({
                    "204": { "description": "Deleted; no body" }, "403": forbidden("send"), "404": chat_not_found()
                }))
            },
            "/sessions/{sid}/chats/{cid}/messages": {
                "get": op("listChatMessages", "List chat messages", LIST_MESSAGES, vec![
                    sid(), cid(),
                    json!({ "name": "limit", "in": "query", "required": false, "description": "Page size, 1-200 (default 50).", "schema": { "type": "integer", "minimum": 1, "maximum": 200, "default": 50 } }),
                    json!({ "name": "cursor", "in": "query", "required": false, "description": "The `nextCursor` of the previous page.", "schema": { "type": "string" } })
                ], json!({
                    "200": ok("A page of messages, newest first", page_of("Message")),
                    "403": forbidden("read"), "404": chat_not_found(), "422": invalid()
                }))
            },
            "/sessions/{sid}/messages": {
                "post": {
                    "operationId": "sendText", "summary": "Send a text message",
                    "description": "Requires `send`.",
                    "parameters": [sid()],
                    "requestBody": body(r("SendText")),
                    "responses": {
                        "201": ok("The sent message", r("Message")), "403": forbidden("send"),
                        "404": not_found(), "409": error_response("`not_connected`: the session is not connected"),
                        "422": invalid(), "401": error_response("`unauthorized`")
                    }
                }
            },
            "/sessions/{sid}/messages/{mid}": {
                "patch": {
                    "operationId": "editMessage", "summary": "Edit a message",
                    "description": "Replaces the text of a text message this account sent, within 15 minutes of sending (`message.edited` event). Requires `send`.",
                    "parameters": [sid(), mid()],
                    "requestBody": body(json!({
                        "type": "object", "required": ["text"], "additionalProperties": false,
                        "properties": { "text": { "type": "string", "minLength": 1, "maxLength": 65536 } }
                    })),
                    "responses": {
                        "200": ok("The message as edited", r("Message")), "403": forbidden("send"),
                        "404": error_response("`not_found`: no such session or message"),
                        "409": error_response("`conflict`: another person's message, a revoked or non-text one, or past the 15 minutes; `not_connected`"),
                        "422": invalid(), "401": error_response("`unauthorized`")
                    }
                },
                "delete": op("deleteMessage", "Delete a message for me", "Deletes a stored message on this account only (and from the gateway's copy). 204 with no body. Requires `send`.", vec![sid(), mid()], json!({
                    "204": { "description": "Deleted; no body" }, "403": forbidden("send"),
                    "404": error_response("`not_found`: no such session or message")
                }))
            },
            "/sessions/{sid}/messages/{mid}/revoke": {
                "post": op("revokeMessage", "Revoke a message for everyone", "Replaces the message with \"This message was deleted\" for everyone. Requires `send`.", vec![sid(), mid()], json!({
                    "200": ok("The revoked message", r("Message")), "403": forbidden("send"),
                    "404": error_response("`not_found`: no such session or message"),
                    "409": error_response("`conflict`: already revoked")
                }))
            },
            "/sessions/{sid}/messages/{mid}/reaction": {
                "post": {
                    "operationId": "reactToMessage", "summary": "React to a message",
                    "description": "Puts this account's reaction (one emoji) on a stored message; an empty `emoji` takes it off. Contacts' reactions and this one reach webhooks as `message.reaction`. Requires `send`.",
                    "parameters": [sid(), mid()],
                    "requestBody": body(json!({
                        "type": "object", "required": ["emoji"], "additionalProperties": false,
                        "properties": { "emoji": { "type": "string", "maxLength": 16, "description": "One emoji; empty removes the reaction." } }
                    })),
                    "responses": {
                        "200": ok("The message with its reactions, and the reaction sent", json!({
                            "type": "object",
                            "properties": { "message": r("Message"), "reaction": r("Reaction") }
                        })),
                        "403": forbidden("send"),
                        "404": error_response("`not_found`: no such session or message"),
                        "409": error_response("`conflict`: the message was revoked; `not_connected`: the session is not connected"),
                        "422": invalid(), "401": error_response("`unauthorized`")
                    }
                }
            },
            "/sessions/{sid}/chats/{cid}/read": {
                "post": {
                    "operationId": "markRead", "summary": "Send read receipts",
                    "description": "Sends read receipts for stored messages (this account's own are skipped). Requires `send`.",
                    "parameters": [sid(), cid()],
                    "requestBody": body(json!({
                        "type": "object", "required": ["messageIds"], "additionalProperties": false,
                        "properties": { "messageIds": { "type": "array", "minItems": 1, "maxItems": 256, "items": { "type": "string" } } }
                    })),
                    "responses": {
                        "200": ok("How many were marked", json!({ "type": "object", "properties": { "marked": { "type": "integer" } } })),
                        "403": forbidden("send"),
                        "404": error_response("`not_found`: no such session, chat or message"),
                        "409": error_response("`not_connected`: the session is not connected"),
                        "422": invalid(), "401": error_response("`unauthorized`")
                    }
                }
            },
            "/sessions/{sid}/chats/{cid}/unread": {
                "post": {
                    "operationId": "markUnread", "summary": "Mark a chat unread",
                    "description": "Marks the chat unread on the account's devices. 204 with no body. Requires `send`.",
                    "parameters": [sid(), cid()],
                    "responses": {
                        "204": { "description": "Marked; no body" }, "403": forbidden("send"),
                        "404": error_response("`not_found`: no such session or chat"),
                        "409": error_response("`not_connected`: the session is not connected"),
                        "401": error_response("`unauthorized`")
                    }
                }
            },
            "/sessions/{sid}/chats/{cid}/presence": {
                "post": {
                    "operationId": "sendChatPresence", "summary": "Show typing or recording",
                    "description": "Shows `state` in the chat; with `delayMs`, `paused` follows that long after (the call answers at once). 204 with no body. Requires `send`.",
                    "parameters": [sid(), cid()],
                    "requestBody": body(json!({
                        "type": "object", "required": ["state"], "additionalProperties": false,
                        "properties": {
                            "state": { "enum": ["composing", "recording", "paused"] },
                            "delayMs": { "type": "integer", "minimum": 0, "maximum": 60000 }
                        }
                    })),
                    "responses": {
                        "204": { "description": "Sent; no body" }, "403": forbidden("send"),
                        "404": error_response("`not_found`: no such session or chat"),
                        "409": error_response("`not_connected`: the session is not connected"),
                        "422": invalid(), "401": error_response("`unauthorized`")
                    }
                }
            },
            "/sessions/{sid}/presence": {
                "put": {
                    "operationId": "setPresence", "summary": "Set the account online or offline",
                    "description": "Sets the account available (online) or unavailable. Requires `send`.",
                    "parameters": [sid()],
                    "requestBody": body(json!({
                        "type": "object", "required": ["available"], "additionalProperties": false,
                        "properties": { "available": { "type": "boolean" } }
                    })),
                    "responses": {
                        "200": ok("The presence set", json!({ "type": "object", "properties": { "available": { "type": "boolean" } } })),
                        "403": forbidden("send"),
                        "404": error_response("`not_found`: no such session"),
                        "409": error_response("`not_connected`: the session is not connected"),
                        "422": invalid(), "401": error_response("`unauthorized`")
                    }
                }
            },
            "/sessions/{sid}/settings": {
                "get": {
                    "operationId": "getSettings", "summary": "The session's behaviour switches",
                    "description": "Reject calls (and the reply texted to callers), ignore group messages, show online when connected, read incoming messages and status updates automatically, and ask for the full history at the next pairing. Requires `read`.",
                    "parameters": [sid()],
                    "responses": {
                        "200": ok("The settings", json!({ "$ref": "#/components/schemas/Settings" })),
                        "403": forbidden("read"),
                        "404": error_response("`not_found`: no such session"),
                        "401": error_response("`unauthorized`")
                    }
                },
                "put": {
                    "operationId": "putSettings", "summary": "Replace the session's behaviour switches",
                    "description": "Replaces every switch: one left out is off. Calls reach webhooks as `call.received`. Requires `manage`.",
                    "parameters": [sid()],
                    "requestBody": body(json!({
                        "type": "object", "additionalProperties": false,
                        "properties": {
                            "rejectCalls": { "type": "boolean" },
                            "callReply": { "type": ["string", "null"], "maxLength": 4096 },
                            "ignoreGroups": { "type": "boolean" },
                            "alwaysOnline": { "type": "boolean" },
                            "readMessages": { "type": "boolean" },
                            "readStatus": { "type": "boolean" },
                            "syncFullHistory": { "type": "boolean" }
                        }
                    })),
                    "responses": {
                        "200": ok("The settings as saved", json!({ "$ref": "#/components/schemas/Settings" })),
                        "403": forbidden("manage"),
                        "404": error_response("`not_found`: no such session"),
                        "422": invalid(), "401": error_response("`unauthorized`")
                    }
                }
            }
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": AUTH_DESCRIPTION }
            },
            "schemas": {
                "Settings": {
                    "type": "object",
                    "required": ["rejectCalls", "callReply", "ignoreGroups", "alwaysOnline", "readMessages", "readStatus", "syncFullHistory"],
                    "properties": {
                        "rejectCalls": { "type": "boolean" },
                        "callReply": { "type": ["string", "null"] },
                        "ignoreGroups": { "type": "boolean" },
                        "alwaysOnline": { "type": "boolean" },
                        "readMessages": { "type": "boolean" },
                        "readStatus": { "type": "boolean" },
                        "syncFullHistory": { "type": "boolean" }
                    }
                },
                "Error": {
                    "type": "object", "required": ["error"],
                    "properties": { "error": {
                        "type": "object", "required": ["code", "message", "details"],
                        "properties": {
                            "code": { "type": "string", "enum": ["unauthorized", "forbidden", "not_found", "validation_error", "conflict", "not_connected", "rate_limited", "method_not_allowed", "internal", "plugin_failed"] },
                            "message": { "type": "string" },
                            "details": { "type": "object", "additionalProperties": true }
                        }
                    } }
                },
                "Session": {
                    "type": "object",
                    "properties": {
                        "id": { "type": "string", "description": "ULID" },
                        "name": { "type": "string" },
                        "organization": { "type": "string" },
                        "status": { "type": "string", "enum": ["stopped", "scan_qr_code", "working", "failed"] },
                        "phoneJid": { "type": ["string", "null"] },
                        "createdAt": { "type": "integer", "description": "epoch ms" }
                    }
                },
                "CreateSession": { "type": "object", "required": ["name"], "additionalProperties": false, "properties": { "name": {
                    "type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9._-]+$",
                    "not": { "anyOf": [{ "enum": [".", ".."] }, { "pattern": "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$" }] },
                    "description": "1-64 letters, digits, `.`, `_` or `-`; not `.`/`..` and not shaped like a session id (a ULID)."
                } } },
                "Connect": { "type": "object", "additionalProperties": false, "properties": { "phoneNumber": { "type": ["string", "null"], "pattern": "^\\+?[0-9]{8,15}$", "description": "8-15 digits with country code (a leading `+` is allowed): ask for a pair code instead of a QR." } } },
                "ConnectInfo": {
                    "type": "object",
                    "properties": {
                        "status": { "type": "string" },
                        "qr": { "type": ["string", "null"] },
                        "pairCode": { "type": ["string", "null"] }
                    }
                },
                "Chat": {
                    "type": "object",
                    "properties": {
                        "id": { "type": "string", "description": "The chat's JID" },
                        "name": { "type": ["string", "null"] },
                        "type": { "type": "string", "enum": ["direct", "group"] },
                        "archived": { "type": "boolean" },
                        "pinned": { "type": "boolean" },
                        "mutedUntil": { "type": ["integer", "null"], "description": "epoch ms; null when not muted" },
                        "lastActivityAt": { "type": "integer", "description": "epoch ms" }
                    }
                },
                "ChatPatch": {
                    "type": "object", "additionalProperties": false,
                    "properties": {
                        "archived": { "type": "boolean" },
                        "pinned": { "type": "boolean" },
                        "mutedUntil": { "type": ["integer", "null"], "minimum": 0, "description": "Unix epoch milliseconds; null (or 0) clears the mute" },
                        "unmute": { "type": "boolean", "description": "Clears any mute; wins over mutedUntil" }
                    }
                },
                "Message": {
                    "type": "object",
                    "properties": {
                        "id": { "type": "string" },
                        "chatId": { "type": "string" },
                        "chatIdAlt": { "type": ["string", "null"], "description": "The chat's other address when the session knows it: the phone JID behind a LID chat, or the LID of a phone chat. Either one names the chat in routes." },
                        "fromMe": { "type": "boolean" },
                        "sender": { "type": "string" },
                        "senderAlt": { "type": ["string", "null"], "description": "The author's other address when known (the phone JID behind a LID author, or back)." },
                        "timestamp": { "type": "integer", "description": "epoch ms" },
                        "type": { "type": "string", "enum": ["text", "media", "revoked", "location", "contacts", "poll", "unsupported"] },
                        "text": { "type": ["string", "null"] },
                        "hasMedia": { "type": "boolean" },
                        "revoked": { "type": "boolean" },
                        "status": { "type": ["string", "null"], "enum": ["sent", "delivered", "read", "played", null], "description": "The furthest receipt WhatsApp reported (sent, delivered, read, played); null until one arrives. Each step is also a `message.ack` event." },
                        "reactions": { "type": "array", "items": { "$ref": "#/components/schemas/Reaction" }, "description": "The latest reaction of each account that reacted." },
                        "content": { "type": ["object", "array", "null"], "description": "For type location `{latitude, longitude, name, address}`, contacts `[{displayName, vcard}]`, poll `{question, options, selectable}`, unsupported `{typeName}` (WhatsApp's name of a kind the gateway does not understand); null otherwise." }
                    }
                },
                "Reaction": {
                    "type": "object",
                    "properties": {
                        "id": { "type": "string", "description": "The reaction message's own id." },
                        "senderJid": { "type": "string" },
                        "fromMe": { "type": "boolean" },
                        "emoji": { "type": "string", "description": "Empty in a `message.reaction` event when the reaction was taken off." },
                        "timestamp": { "type": "integer", "description": "epoch ms" }
                    }
                },
                "SendText": {
                    "type": "object", "required": ["to", "text"], "additionalProperties": false,
                    "properties": {
                        "to": { "type": "string", "minLength": 1, "pattern": "^(\\+?[0-9 ().\\-]{8,40}|[0-9]{5,20}(:[0-9]+)?@(s\\.whatsapp\\.net|c\\.us)|[0-9]{5,25}(:[0-9]+)?@lid|[0-9]{1,25}(-[0-9]{1,25})?@g\\.us)$", "description": "Number with country code, 8-15 digits (`+`, spaces, dots, dashes and parentheses are ignored), or a JID" },
                        "text": { "type": "string", "minLength": 1, "maxLength": 65536 }
                    }
                },
                "Event": {
                    "type": "object",
                    "required": ["schema", "id", "event", "session", "organization", "timestamp", "payload"],
                    "properties": {
                        "schema": { "const": "v1" },
                        "id": { "type": "string", "description": "evt_…; de-duplicate on it" },
                        "event": { "type": "string", "enum": ["message", "message.from_me", "message.media", "message.revoked", "message.deleted", "message.ack", "message.reaction", "message.edited", "message.poll_vote", "chat.deleted", "chat.update", "session.status", "auth.qr", "session.created", "session.deleted", "call.received", "call.ended", "presence.update", "message.history", "chat.history", "group.joined", "group.update", "group.participants", "contact.upsert", "contact.update", "label.edit", "label.association"] },
                        "session": { "type": "string" },
                        "organization": { "type": "string" },
                        "timestamp": { "type": "integer" },
                        "payload": { "type": "object" }
                    }
                }
            }
        }
    });
    // Polls show their tally (kept out of the literal above, at the macro's depth).
    doc["components"]["schemas"]["Message"]["properties"]["pollResults"] = json!({
        "type": "array",
        "description": "Polls only: each option, in order, with the voters whose latest vote selects it (votes arrive as `message.poll_vote` events).",
        "items": { "type": "object", "properties": {
            "option": { "type": "string" }, "votes": { "type": "integer" },
            "voters": { "type": "array", "items": { "type": "string" } }
        } }
    });
    add_webhooks(&mut doc);
    add_chatwoot(&mut doc);
    add_media(&mut doc);
    crate::groups::add_openapi(&mut doc);
    crate::contacts::add_openapi(&mut doc);
    crate::account::add_openapi(&mut doc);
    crate::proxy::add_openapi(&mut doc);
    crate::labels::add_openapi(&mut doc);
    add_links(&mut doc);
    add_common_responses(&mut doc);
    doc
}

/// The statuses any operation can answer besides its own: 401 (no valid token), 429
/// (a core rate limit), and for an operation with a body 422 (malformed) and 413 (over
/// the gateway's `max_body_bytes`, answered by the gateway itself in its own shape).
/// An operation's own wording of a status is kept.
fn add_common_responses(doc: &mut Value) {
    doc["components"]["schemas"]["GatewayError"] = json!({
        "type": "object", "required": ["error"],
        "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": { "code": { "type": "string" }, "message": { "type": "string" } } } }
    });
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            let with_body = op.get("requestBody").is_some();
            let responses = &mut op["responses"];
            let mut add = |status: &str, r: Value| {
                if responses.get(status).is_none() {
                    responses[status] = r;
                }
            };
            add(
                "401",
                error_response("`unauthorized`: no valid bearer token"),
            );
            add(
                "429",
                error_response("`rate_limited`: too many requests (see Retry-After)"),
            );
            if with_body {
                add(
                    "422",
                    error_response("`validation_error`: the request body is malformed"),
                );
                add(
                    "413",
                    json!({
                        "description": "The request body is larger than the gateway's max_body_bytes (answered by the gateway, in its own error shape).",
                        "content": { "application/json": { "schema": r("GatewayError") } }
                    }),
                );
            }
        }
    }
}

/// `links` from a created session's id to the operations on it (create -> use ->
/// delete), for generated clients and stateful testers.
fn add_links(doc: &mut Value) {
    let uses = [
        "getSession",
        "connectSession",
        "listChats",
        "sendText",
        "listWebhooks",
        "replaceWebhooks",
        "getChatwootIntegration",
        "logoutSession",
        "deleteSession",
    ];
    let links: serde_json::Map<String, Value> = uses
        .iter()
        .map(|op| {
            (
                op.to_string(),
                json!({ "operationId": op, "parameters": { "path.sid": "$response.body#/id" } }),
            )
        })
        .collect();
    doc["paths"]["/sessions"]["post"]["responses"]["201"]["links"] = Value::Object(links);
}

const WEBHOOKS: &str = "The session's webhooks set through this API (webhooks set through other APIs of the gateway are not listed and stay as they are). Deliveries are the Event envelope, POSTed with `X-Wagate-Event-Id`, `X-Wagate-Timestamp` and `X-Wagate-Signature` (`sha256=` + hex HMAC-SHA256(secret, `{timestamp}.{body}`)) plus the webhook's own headers. `events` names the envelope's `event` values; empty means all. `message` and `message.from_me` are one subscription: naming either delivers both. Requires `manage` (webhooks hold signing secrets). **Errors** - `not_found` (404): the session does not exist or is not owned by the caller's organization. - `forbidden` (403): the caller lacks the `manage` capability. - `validation_error` (422): the request body is malformed (`details.fields` names each problem).";

/// `GET`/`PUT /sessions/{sid}/webhooks` and their schemas.
fn add_webhooks(doc: &mut Value) {
    let not_found = error_response(
        "`not_found`: the session does not exist or is not owned by the caller's organization",
    );
    let forbidden = error_response("`forbidden`: the caller lacks the `manage` capability");
    doc["paths"]["/sessions/{sid}/webhooks"] = json!({
        "get": op("listWebhooks", "List a session's webhooks", WEBHOOKS, vec![sid()], json!({
            "200": ok("The webhooks", page_of("Webhook")), "403": forbidden.clone(), "404": not_found.clone()
        })),
        "put": {
            "operationId": "replaceWebhooks", "summary": "Replace a session's webhooks",
            "description": format!("{WEBHOOKS} The body replaces the whole set (at most 10 per session); `{{\"webhooks\": []}}` removes them all. A webhook without `secret` gets a generated one."),
            "parameters": [sid()],
            "requestBody": body(r("WebhookSet")),
            "responses": {
                "200": ok("The webhooks now set", page_of("Webhook")), "403": forbidden, "404": not_found,
                "422": error_response("`validation_error`: the request body is malformed"),
                "401": error_response("`unauthorized`")
            }
        }
    });
    let schemas = &mut doc["components"]["schemas"];
    let names: Vec<&str> = crate::webhooks::EVENTS.iter().map(|(n, _)| *n).collect();
    schemas["EventName"] = json!({ "type": "string", "enum": names });
    schemas["WebhookSpec"] = json!({
        "type": "object", "required": ["url"], "additionalProperties": false,
        "properties": {
            "url": { "type": "string", "format": "uri", "description": "http:// or https://" },
            "events": { "type": "array", "items": r("EventName"), "description": "Empty or absent: every event." },
            "headers": { "type": "object", "additionalProperties": { "type": "string" }, "description": "Extra headers sent with every delivery." },
            "enabled": { "type": "boolean", "default": true },
            "secret": { "type": "string", "minLength": 16, "maxLength": 256, "description": "HMAC-SHA256 signing secret; generated when absent." }
        }
    });
    schemas["WebhookSet"] = json!({
        "type": "object", "required": ["webhooks"], "additionalProperties": false,
        "properties": { "webhooks": { "type": "array", "maxItems": 10, "items": r("WebhookSpec") } }
    });
    schemas["Webhook"] = json!({
        "type": "object",
        "properties": {
            "id": { "type": "string", "description": "wh_<ulid>; a PUT gives every webhook a new id" },
            "url": { "type": "string" },
            "events": { "type": "array", "items": r("EventName") },
            "headers": { "type": "object", "additionalProperties": { "type": "string" } },
            "enabled": { "type": "boolean" },
            "secret": { "type": "string" },
            "createdAt": { "type": "integer", "description": "epoch ms" }
        }
    });
}

const CHATWOOT: &str = "The session's Chatwoot sync: the bundled `chatwoot` plugin mirrors the session's chats into a Chatwoot inbox (contact by phone number, its open conversation, each message once) and sends agent replies back on WhatsApp through Chatwoot's webhook at `webhookUrl`. The Chatwoot `token` is kept by the gateway and only added to the sync's calls to Chatwoot (`api_access_token`); answers say `tokenSet`, never the token. Requires `manage`. **Errors** - `not_found` (404): the session does not exist, is not owned by the caller's organization, or (GET, DELETE) has no Chatwoot integration. - `forbidden` (403): the caller lacks the `manage` capability. - `validation_error` (422): the request body is malformed (`details.fields` names each problem).";

/// `GET`/`PUT`/`DELETE /sessions/{sid}/integrations/chatwoot` and their schemas.
fn add_chatwoot(doc: &mut Value) {
    let not_found = error_response(
        "`not_found`: the session does not exist, is not the caller's organization's, or has no Chatwoot integration",
    );
    let forbidden = error_response("`forbidden`: the caller lacks the `manage` capability");
    doc["paths"]["/sessions/{sid}/integrations/chatwoot"] = json!({
        "get": op("getChatwootIntegration", "A session's Chatwoot sync", CHATWOOT, vec![sid()], json!({
            "200": ok("The integration", r("ChatwootIntegration")), "403": forbidden.clone(), "404": not_found.clone()
        })),
        "put": {
            "operationId": "setChatwootIntegration", "summary": "Set a session's Chatwoot sync",
            "description": format!("{CHATWOOT} Creates or replaces it; `token` is required the first time and kept when a later PUT omits it. The sync starts with the next event."),
            "parameters": [sid()],
            "requestBody": body(r("ChatwootIntegrationSpec")),
            "responses": {
                "200": ok("The integration now set", r("ChatwootIntegration")), "403": forbidden.clone(), "404": not_found.clone(),
                "422": error_response("`validation_error`: the request body is malformed"),
                "401": error_response("`unauthorized`")
            }
        },
        "delete": op("deleteChatwootIntegration", "Stop and remove a session's Chatwoot sync",
            &format!("{CHATWOOT} Removes the integration, its queued deliveries, its webhook token and the sync's mapping; Chatwoot's own data stays. 204 No Content."),
            vec![sid()], json!({ "204": { "description": "Removed" }, "403": forbidden, "404": not_found }))
    });
    let schemas = &mut doc["components"]["schemas"];
    schemas["ChatwootIntegrationSpec"] = json!({
        "type": "object", "required": ["url", "accountId"], "additionalProperties": false,
        "properties": {
            "url": { "type": "string", "format": "uri", "description": "Chatwoot's base URL" },
            "accountId": { "type": ["integer", "string"], "description": "numeric account id" },
            "token": { "type": "string", "description": "api_access_token; required the first time" },
            "enabled": { "type": "boolean", "default": true },
            "inboxId": { "type": ["integer", "null"], "description": "use this inbox; else it is found by inboxName" },
            "inboxName": { "type": ["string", "null"], "description": "default: the session's name" },
            "autoCreateInbox": { "type": "boolean", "default": false },
            "signMessages": { "type": "boolean", "default": false, "description": "prefix agent replies with *Agent:*" },
            "signDelimiter": { "type": ["string", "null"], "description": "default a newline" },
            "reopenConversation": { "type": "boolean", "default": false },
            "conversationPending": { "type": "boolean", "default": false },
            "ignoreJids": { "type": "array", "items": { "type": "string" }, "description": "JIDs, or @g.us / @s.whatsapp.net for all groups / people" },
            "serverUrl": { "type": "string", "description": "this gateway's public URL (webhookUrl's base); default: the request's" }
        }
    });
    schemas["ChatwootIntegration"] = json!({
        "type": "object",
        "properties": {
            "sink": { "const": "chatwoot" }, "url": { "type": "string" }, "enabled": { "type": "boolean" },
            "accountId": { "type": "string" }, "inboxId": { "type": ["integer", "null"] },
            "inboxName": { "type": "string" }, "autoCreateInbox": { "type": "boolean" },
            "signMessages": { "type": "boolean" }, "signDelimiter": { "type": ["string", "null"] },
            "reopenConversation": { "type": "boolean" }, "conversationPending": { "type": "boolean" },
            "ignoreJids": { "type": "array", "items": { "type": "string" } },
            "serverUrl": { "type": "string" },
            "tokenSet": { "type": "boolean" },
            "webhookUrl": { "type": "string", "description": "set as the Chatwoot inbox's webhook (carries its token)" },
            "createdAt": { "type": "integer", "description": "epoch ms" }
        }
    });
}

/// Media (see `media.rs`): the send body's media form, the message's media record, and
/// `GET /sessions/{sid}/messages/{mid}/media`.
fn add_media(doc: &mut Value) {
    let schemas = &mut doc["components"]["schemas"];
    schemas["SendText"]["properties"]["type"] = json!({ "const": "text" });
    let to = schemas["SendText"]["properties"]["to"].clone();
    schemas["SendMedia"] = json!({
        "type": "object", "required": ["to", "type", "media"], "additionalProperties": false,
        "properties": {
            "to": to,
            "type": { "enum": ["image", "video", "audio", "voice", "document", "sticker", "video_note"] },
            "media": {
                "type": "object", "additionalProperties": false,
                "description": "Exactly one of `data` (base64) and `url` (http(s), fetched by the gateway under its outbound policy and size cap).",
                "properties": {
                    "data": { "type": "string", "minLength": 1 }, "url": { "type": "string", "format": "uri" },
                    "mimetype": { "type": "string" }, "filename": { "type": "string" }, "caption": { "type": "string" }
                }
            },
            "caption": { "type": "string" },
            "replyTo": { "type": "string", "description": "id of a stored message this one replies to" },
            "mentions": { "type": "array", "items": { "type": "string" } }
        }
    });
    schemas["Message"]["properties"]["media"] = json!({
        "type": ["object", "null"],
        "properties": {
            "kind": { "type": "string" }, "mimetype": { "type": "string" }, "size": { "type": "integer" },
            "filename": { "type": ["string", "null"] }, "sha256": { "type": "string" },
            "available": { "type": "boolean", "description": "the bytes are stored (GET .../media serves them)" }
        }
    });
    let to = schemas["SendText"]["properties"]["to"].clone();
    schemas["SendLocation"] = json!({
        "type": "object", "required": ["to", "type", "latitude", "longitude"], "additionalProperties": false,
        "properties": {
            "to": to.clone(), "type": { "const": "location" },
            "latitude": { "type": "number", "minimum": -90, "maximum": 90 },
            "longitude": { "type": "number", "minimum": -180, "maximum": 180 },
            "name": { "type": "string" }, "address": { "type": "string" }
        }
    });
    schemas["SendContact"] = json!({
        "type": "object", "required": ["to", "type", "contact"], "additionalProperties": false,
        "properties": {
            "to": to.clone(), "type": { "const": "contact" },
            "contact": { "type": "object", "additionalProperties": false,
                "description": "A `vcard` sent as given, or one built from `name` and `phone`.",
                "properties": { "name": { "type": "string" }, "phone": { "type": "string" }, "vcard": { "type": "string" } } }
        }
    });
    schemas["SendPoll"] = json!({
        "type": "object", "required": ["to", "type", "name", "options"], "additionalProperties": false,
        "properties": {
            "to": to, "type": { "const": "poll" },
            "name": { "type": "string", "minLength": 1, "description": "the question" },
            "options": { "type": "array", "minItems": 2, "maxItems": 12, "uniqueItems": true, "items": { "type": "string", "minLength": 1 } },
            "selectableCount": { "type": "integer", "minimum": 1, "default": 1 }
        }
    });
    let send = &mut doc["paths"]["/sessions/{sid}/messages"]["post"];
    send["summary"] = json!("Send a text, media, location, contact or poll message");
    send["description"] = json!(
        "Text with `{to, text}`; media with `{to, type, media: {data | url, ...}}`; a location, a contact card or a poll with `type` `location`, `contact` or `poll`. Media larger than the gateway's `[media] max_bytes` is 413 `too_large`. Requires `send`."
    );
    send["requestBody"]["content"]["application/json"]["schema"] = json!({ "oneOf": [
        r("SendText"), r("SendMedia"), r("SendLocation"), r("SendContact"), r("SendPoll")
    ] });
    send["responses"]["413"] =
        error_response("`too_large`: the media is larger than the gateway accepts");
    doc["paths"]["/sessions/{sid}/messages/{mid}/media"] = json!({
        "get": op("getMessageMedia", "A message's media", "The stored bytes with their Content-Type (and Content-Disposition when the file has a name). Requires `read`.", vec![sid(), mid()], json!({
            "200": { "description": "The media bytes", "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } },
            "404": error_response("`not_found`: no such session or message, or the message has no stored media")
        }))
    });
}
