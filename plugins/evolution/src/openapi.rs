//! The dialect's OpenAPI 3.1 document, served at `GET /openapi.json`.

use serde_json::{Value, json};

fn instance_param() -> Value {
    json!({
        "name": "instanceName", "in": "path", "required": true,
        "schema": { "type": "string", "minLength": 1 },
        "description": "The instanceName given at creation (an unknown one, or another organisation's, is 404)."
    })
}

/// (path, method, operationId) of every operation: `links` name operations by id.
const OPERATION_IDS: [(&str, &str, &str); 18] = [
    ("/instance/create", "post", "createInstance"),
    ("/instance/fetchInstances", "get", "fetchInstances"),
    ("/instance/connect/{instanceName}", "get", "connectInstance"),
    (
        "/instance/connectionState/{instanceName}",
        "get",
        "connectionState",
    ),
    (
        "/instance/restart/{instanceName}",
        "post",
        "restartInstance",
    ),
    (
        "/instance/logout/{instanceName}",
        "delete",
        "logoutInstance",
    ),
    (
        "/instance/delete/{instanceName}",
        "delete",
        "deleteInstance",
    ),
    ("/message/sendText/{instanceName}", "post", "sendText"),
    (
        "/chat/deleteMessageForEveryone/{instanceName}",
        "delete",
        "deleteMessageForEveryone",
    ),
    ("/chat/archiveChat/{instanceName}", "post", "archiveChat"),
    ("/chat/findMessages/{instanceName}", "post", "findMessages"),
    ("/chat/findChats/{instanceName}", "post", "findChats"),
    ("/webhook/set/{instanceName}", "post", "setWebhook"),
    ("/webhook/find/{instanceName}", "get", "findWebhook"),
    ("/websocket/set/{instanceName}", "post", "setWebsocket"),
    ("/websocket/find/{instanceName}", "get", "findWebsocket"),
    ("/chatwoot/set/{instanceName}", "post", "setChatwoot"),
    ("/chatwoot/find/{instanceName}", "get", "findChatwoot"),
];

/// The operations a created instance's name feeds, in the order a client uses them
/// (read, use, then log out and delete).
const USES_OF_CREATED: [&str; 13] = [
    "connectionState",
    "connectInstance",
    "restartInstance",
    "sendText",
    "archiveChat",
    "findMessages",
    "findChats",
    "setWebhook",
    "findWebhook",
    "findChatwoot",
    "logoutInstance",
    "deleteInstance",
    "fetchInstances",
];

/// Schemas and responses kept out of `document`'s one `json!` (its macro recursion
/// limit).
fn extras(doc: &mut Value) {
    let schemas = json!({
                "GatewayError": {
                    "type": "object", "required": ["error"],
                    "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": { "code": { "type": "string" }, "message": { "type": "string" } } } }
                },
                "InstanceName": {
                    "type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9._-]+$",
                    "not": { "anyOf": [{ "enum": [".", ".."] }, { "pattern": "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$" }] },
                    "description": "1-64 letters, digits, `.`, `_` or `-`; not `.`/`..` and not shaped like an instance id (a ULID)."
                },
                "Number": {
                    "type": "string", "minLength": 1,
                    "pattern": "^(\\+?[0-9 ().\\-]{8,40}|[0-9]{5,20}(:[0-9]+)?@(s\\.whatsapp\\.net|c\\.us)|[0-9]{5,25}(:[0-9]+)?@lid|[0-9]{1,25}(-[0-9]{1,25})?@g\\.us)$",
                    "description": "Number with country code, 8-15 digits (`+`, spaces, dots, dashes and parentheses are ignored), or a JID (...@s.whatsapp.net, ...@lid, ...@g.us)"
                }
    });
    let responses = json!({
                "Forbidden": { "description": "The key lacks the capability the operation needs (read, send or manage)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "TooManyRequests": { "description": "A rate limit of the gateway (see Retry-After)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "PayloadTooLarge": { "description": "The request body is larger than the gateway's max_body_bytes (answered by the gateway, in its own error shape)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/GatewayError" } } } }
    });
    for (at, extra) in [("schemas", schemas), ("responses", responses)] {
        if let (Some(into), Some(extra)) =
            (doc["components"][at].as_object_mut(), extra.as_object())
        {
            into.extend(extra.clone());
        }
    }
    doc["components"]["schemas"]["Label"] = crate::labels::openapi_schema();
}

/// Operation ids, the create -> use -> delete `links`, and the statuses every
/// operation can answer besides its own: 401 (no or a wrong apikey), 403 (the key lacks
/// a capability), 429 (a core rate limit), and for an operation with a body 400 and 413
/// (over the gateway's `max_body_bytes`, answered by the gateway in its own shape). An
/// operation's own wording of a status is kept.
fn finish(doc: &mut Value) {
    for (path, method, id) in OPERATION_IDS {
        doc["paths"][path][method]["operationId"] = json!(id);
    }
    let links: serde_json::Map<String, Value> = USES_OF_CREATED
        .iter()
        .map(|op| {
            let parameters = if *op == "fetchInstances" {
                json!({ "query.instanceName": "$response.body#/instance/instanceName" })
            } else {
                json!({ "path.instanceName": "$response.body#/instance/instanceName" })
            };
            (
                op.to_string(),
                json!({ "operationId": op, "parameters": parameters }),
            )
        })
        .collect();
    doc["paths"]["/instance/create"]["post"]["responses"]["201"]["links"] = Value::Object(links);
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
            let mut add = |status: &str, name: &str| {
                if responses.get(status).is_none() {
                    responses[status] = json!({ "$ref": format!("#/components/responses/{name}") });
                }
            };
            add("401", "Unauthorized");
            add("403", "Forbidden");
            add("429", "TooManyRequests");
            if with_body {
                add("400", "BadRequest");
                add("413", "PayloadTooLarge");
            }
        }
    }
}

pub(crate) fn body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

pub(crate) fn ok(status: &str, description: &str, schema: Value) -> Value {
    json!({
        status: { "description": description, "content": { "application/json": { "schema": schema } } },
        "400": { "$ref": "#/components/responses/BadRequest" },
        "401": { "$ref": "#/components/responses/Unauthorized" },
        "404": { "$ref": "#/components/responses/NotFound" }
    })
}

pub(crate) fn op(
    summary: &str,
    tag: &str,
    with_instance: bool,
    request: Option<Value>,
    responses: Value,
) -> Value {
    let mut o = json!({
        "summary": summary,
        "tags": [tag],
        "security": [{ "apikey": [] }],
        "responses": responses,
    });
    if with_instance {
        o["parameters"] = json!([instance_param()]);
    }
    if let Some(r) = request {
        o["requestBody"] = r;
    }
    o
}

/// `POST /instance/create`'s answers.
fn created() -> Value {
    json!({
        "201": {
            "description": "Created; `hash` is the instance token (shown once)",
            "content": { "application/json": { "schema": {
                "type": "object", "required": ["instance", "hash"],
                "properties": {
                    "instance": { "type": "object", "required": ["instanceName", "instanceId", "status"], "properties": {
                        "instanceName": { "type": "string" }, "instanceId": { "type": "string" },
                        "integration": { "type": "string" }, "status": { "type": "string" }
                    } },
                    "hash": { "type": "string" },
                    "qrcode": { "$ref": "#/components/schemas/QrCode" }
                }
            } } }
        },
        "400": { "$ref": "#/components/responses/BadRequest" },
        "401": { "description": "Missing or invalid apikey, or an instance's token (only an organisation-wide key creates)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "403": { "description": "The name is already in use, or the key lacks the `manage` capability", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
    })
}

/// Create's flat proxy fields besides `proxyHost` (one `json!` would be too deep).
fn with_proxy_fields(mut schema: Value) -> Value {
    let props = &mut schema["properties"];
    props["proxyPort"] = json!({ "type": "string" });
    props["proxyProtocol"] = json!({ "enum": ["http", "https", "socks4", "socks5"] });
    props["proxyUsername"] = json!({ "type": "string" });
    props["proxyPassword"] = json!({ "type": "string" });
    schema
}

fn obj() -> Value {
    json!({ "type": "object" })
}

/// The document as JSON text.
pub(crate) fn document() -> String {
    let message_key = json!({
        "type": "object",
        "properties": {
            "remoteJid": { "type": "string" }, "fromMe": { "type": "boolean" },
            "id": { "type": "string" }, "participant": { "type": "string" },
            "remoteJidAlt": { "type": "string", "description": "The chat's other address when known: the phone JID of a LID chat, or the LID of a phone chat" },
            "participantAlt": { "type": "string", "description": "The group member's other address when known" },
            "addressingMode": { "enum": ["lid", "pn"], "description": "Which kind of address remoteJid (in a group: participant) is; given with an Alt" }
        }
    });
    let seed_error = json!({
        "type": "object", "required": ["error", "message"],
        "properties": { "error": { "const": true }, "message": { "type": "string" } }
    });
    let delete_responses = json!({
        "200": {
            "description": "Instance deleted",
            "content": { "application/json": {
                "schema": { "$ref": "#/components/schemas/Success" },
                "example": { "status": "SUCCESS", "error": false, "response": { "message": "Instance deleted" } }
            } }
        },
        "400": {
            "description": "The instance does not exist, or a deletion of it is already in progress",
            "content": { "application/json": {
                "schema": seed_error,
                "example": { "error": true, "message": "The \"my-instance\" instance does not exist" }
            } }
        },
        "401": {
            "description": "Missing or invalid apikey, or no permission (an instance's own token may delete only its instance)",
            "content": { "application/json": {
                "schema": seed_error,
                "example": { "error": true, "message": "Unauthorized" }
            } }
        },
        "429": {
            "description": "More than 10 deletions per minute or 100 per hour with this key (see Retry-After)",
            "content": { "application/json": { "schema": seed_error } }
        },
        "500": { "description": "Internal error", "content": { "application/json": { "schema": seed_error } } }
    });

    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "wagate: Evolution API v2 dialect",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Evolution API v2 compatible endpoints served by wagate. Authenticate with the `apikey` header: the global key (AUTHENTICATION_API_KEY), an organisation key, or an instance's own token (`hash`), which reaches only that instance."
        },
        "components": {
            "securitySchemes": { "apikey": { "type": "apiKey", "in": "header", "name": "apikey" } },
            "schemas": {
                "Proxy": crate::proxy::schema(),
                "Websocket": {
                    "type": "object", "required": ["id", "enabled", "events", "createdAt", "updatedAt", "instanceId"],
                    "properties": {
                        "id": { "type": "string" }, "enabled": { "type": "boolean" },
                        "events": { "type": "array", "items": { "enum": crate::webhook::EVOLUTION_EVENTS } },
                        "createdAt": { "type": "string", "format": "date-time" },
                        "updatedAt": { "type": "string", "format": "date-time" },
                        "instanceId": { "type": "string" }
                    }
                },
                "Chatwoot": {
                    "type": "object",
                    "properties": {
                        "enabled": { "type": "boolean" }, "accountId": { "type": "string" },
                        "token": { "type": "string", "description": "masked: ******** when set" },
                        "url": { "type": "string" }, "nameInbox": { "type": "string" },
                        "signMsg": { "type": "boolean" }, "signDelimiter": { "type": ["string", "null"] },
                        "reopenConversation": { "type": "boolean" }, "conversationPending": { "type": "boolean" },
                        "ignoreJids": { "type": "array", "items": { "type": "string" } },
                        "webhook_url": { "type": "string", "description": "{server}/chatwoot/webhook/{instanceName}?token={inbound secret}" }
                    }
                },
                "Error": {
                    "type": "object", "required": ["status", "error", "response"],
                    "properties": {
                        "status": { "type": "integer" },
                        "error": { "type": "string" },
                        "response": { "type": "object", "required": ["message"], "properties": { "message": {
                            "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }]
                        } } }
                    }
                },
                "Success": {
                    "type": "object",
                    "properties": {
                        "status": { "const": "SUCCESS" }, "error": { "const": false },
                        "response": { "type": "object", "properties": { "message": { "type": "string" } } }
                    }
                },
                "QrCode": {
                    "type": "object", "required": ["pairingCode", "count"],
                    "properties": {
                        "pairingCode": { "type": ["string", "null"] },
                        "code": { "type": "string", "description": "The raw QR payload" },
                        "base64": { "type": "string", "description": "data:image/png;base64,..." },
                        "count": { "type": "integer" }
                    }
                },
                "ConnectionState": {
                    "type": "object", "required": ["instance"],
                    "properties": { "instance": { "type": "object", "required": ["instanceName", "state"], "properties": {
                        "instanceName": { "type": "string" },
                        "state": { "enum": ["open", "connecting", "close"] }
                    } } }
                },
                "MessageKey": message_key,
                "Message": {
                    "type": "object",
                    "properties": {
                        "id": { "type": "string" },
                        "key": { "$ref": "#/components/schemas/MessageKey" },
                        "pushName": { "type": ["string", "null"] },
                        "message": obj(),
                        "messageType": { "type": "string" },
                        "messageTimestamp": { "type": "integer", "description": "Unix seconds" },
                        "instanceId": { "type": "string" },
                        "source": { "type": "string" }
                    }
                }
            },
            "responses": {
                "BadRequest": { "description": "Invalid input", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "Unauthorized": { "description": "Missing or invalid apikey, or an instance's token used on another instance", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "NotFound": { "description": "The instance does not exist", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
        },
        "paths": {
            "/instance/create": { "post": op("Create an instance", "Instance", false,
                Some(body(with_proxy_fields(json!({
                    "type": "object", "required": ["instanceName"],
                    "properties": {
                        "instanceName": { "$ref": "#/components/schemas/InstanceName" },
                        "integration": { "const": "WHATSAPP-BAILEYS" },
                        "token": { "type": "string", "description": "The instance's own token, chosen by the caller: 8-512 characters without spaces, stored hashed and answered back as `hash`; refused (400) when it is already some credential's. Absent or empty: wagate mints one." },
                        "qrcode": { "type": "boolean", "description": "Start pairing and return the QR code" },
                        "number": { "type": "string", "description": "With qrcode: pair by code for this number (8-15 digits with country code)" },
                        "webhook": { "type": "object", "description": "Set as the instance's webhook, as /webhook/set's `webhook` (enabled unless it says false)" },
                        "chatwootAccountId": { "type": "string", "description": "With chatwootToken and chatwootUrl: the Chatwoot integration, as /chatwoot/set (chatwootSignMsg, chatwootReopenConversation and chatwootConversationPending then required)" },
                        "chatwootToken": { "type": "string" }, "chatwootUrl": { "type": "string" },
                        "rejectCall": { "type": "boolean", "description": "The instance settings, as /settings/set (each optional here, off by default)" },
                        "groupsIgnore": { "type": "boolean" }, "alwaysOnline": { "type": "boolean" },
                        "readMessages": { "type": "boolean" }, "readStatus": { "type": "boolean" },
                        "syncFullHistory": { "type": "boolean" }, "msgCall": { "type": "string", "maxLength": 4096 },
                        "wavoipToken": { "const": "", "description": "Wavoip calls are not supported: a non-empty token is refused with 400" },
                        "proxyHost": { "type": "string", "description": "With proxyPort and proxyProtocol: the instance's proxy, as /proxy/set (an unreachable one is refused with 400 Invalid proxy); empty: none" },
                        "websocket": { "type": "object", "properties": { "enabled": { "type": "boolean" }, "events": { "type": "array", "items": { "enum": crate::webhook::EVOLUTION_EVENTS } } }, "description": "Set as the instance's Socket.IO settings, as /websocket/set's `websocket` (enabled unless it says false)" },
                        "rabbitmq": { "type": "object", "properties": { "enabled": { "type": "boolean" }, "events": { "type": "array", "items": { "enum": crate::webhook::EVOLUTION_EVENTS } } }, "description": "The instance's events into RabbitMQ, as /rabbitmq/set (enabled unless it says false; 400 and no instance when the gateway configures no such broker); `nats` and `sqs` alike, and the flat rabbitmqEnabled/rabbitmqEvents" },
                        "nats": { "type": "object", "properties": { "enabled": { "type": "boolean" }, "events": { "type": "array", "items": { "enum": crate::webhook::EVOLUTION_EVENTS } } } },
                        "sqs": { "type": "object", "properties": { "enabled": { "type": "boolean" }, "events": { "type": "array", "items": { "enum": crate::webhook::EVOLUTION_EVENTS } } } }
                    }
                })))),
                created()) },
            "/instance/fetchInstances": { "get": {
                "summary": "List instances", "tags": ["Instance"], "security": [{ "apikey": [] }],
                "parameters": [
                    { "name": "instanceName", "in": "query", "schema": { "type": "string" } },
                    { "name": "instanceId", "in": "query", "schema": { "type": "string" } }
                ],
                "responses": ok("200", "Instances, in Evolution's row shape", json!({ "type": "array", "items": { "$ref": "#/components/schemas/FetchedInstance" } }))
            } },
            "/instance/connect/{instanceName}": { "get": {
                "summary": "Connect: QR code, or pair code with ?number=", "tags": ["Instance"],
                "security": [{ "apikey": [] }],
                "parameters": [instance_param(), { "name": "number", "in": "query", "schema": { "type": "string" } }],
                "responses": ok("200", "QR code, or the state when already open",
                    json!({ "oneOf": [{ "$ref": "#/components/schemas/QrCode" }, { "$ref": "#/components/schemas/ConnectionState" }] }))
            } },
            "/instance/connectionState/{instanceName}": { "get": op("Connection state", "Instance", true, None,
                ok("200", "State", json!({ "$ref": "#/components/schemas/ConnectionState" }))) },
            "/instance/restart/{instanceName}": { "post": op("Restart the session: drop the connection and log in again with the stored keys", "Instance", true, None,
                ok("200", "A paired instance: its state (connecting while it logs in again); one still pairing: its new QR code. 400 when it is not paired nor pairing", json!({ "oneOf": [{ "$ref": "#/components/schemas/QrCode" }, { "$ref": "#/components/schemas/ConnectionState" }] }))) },
            "/instance/logout/{instanceName}": { "delete": op("Log out of WhatsApp (keeps the data)", "Instance", true, None,
                ok("200", "Logged out", json!({ "$ref": "#/components/schemas/Success" }))) },
            "/instance/delete/{instanceName}": { "delete": op("Delete an instance permanently", "Instance", true, None, delete_responses) },
            "/message/sendText/{instanceName}": { "post": op("Send a text message", "Message", true,
                Some(body(json!({
                    "type": "object", "required": ["number", "text"],
                    "properties": { "number": { "$ref": "#/components/schemas/Number" }, "text": { "type": "string", "minLength": 1, "maxLength": 65536 } }
                }))),
                ok("201", "The message", json!({ "$ref": "#/components/schemas/Message" }))) },
            "/chat/deleteMessageForEveryone/{instanceName}": { "delete": op("Revoke a message for everyone", "Chat", true,
                Some(body(json!({
                    "type": "object", "required": ["id", "fromMe", "remoteJid"],
                    "properties": {
                        "id": { "type": "string", "minLength": 1 }, "fromMe": { "type": "boolean" },
                        "remoteJid": { "$ref": "#/components/schemas/Number" }, "participant": { "type": "string", "minLength": 1 }
                    }
                }))),
                ok("201", "The REVOKE protocol message", obj())) },
            "/chat/archiveChat/{instanceName}": { "post": op("Archive or unarchive a chat", "Chat", true,
                Some(body(json!({
                    "type": "object", "required": ["archive"],
                    "description": "The chat is `chat`, or else `lastMessage.key.remoteJid`: one of them is required.",
                    "anyOf": [
                        { "required": ["chat"], "properties": { "chat": { "minLength": 1 } } },
                        { "required": ["lastMessage"], "properties": { "lastMessage": { "required": ["key"], "properties": { "key": { "required": ["remoteJid"] } } } } }
                    ],
                    "properties": {
                        "chat": { "$ref": "#/components/schemas/Number" }, "archive": { "type": "boolean" },
                        "lastMessage": { "type": "object", "properties": { "key": { "$ref": "#/components/schemas/MessageKey" } } }
                    }
                }))),
                ok("201", "`{chatId, archived}`", obj())) },
            "/chat/findMessages/{instanceName}": { "post": op("Find stored messages", "Chat", true,
                Some(body(json!({
                    "type": "object",
                    "properties": {
                        "where": { "type": "object", "properties": {
                            "key": { "$ref": "#/components/schemas/MessageKey" },
                            "messageTimestamp": { "type": "object", "properties": { "gte": {}, "lte": {} } }
                        } },
                        "page": { "type": "integer", "minimum": 1 },
                        "offset": { "type": "integer", "minimum": 1, "description": "Page size (default 50)" }
                    }
                }))),
                ok("200", "A page", json!({
                    "type": "object",
                    "properties": { "messages": { "type": "object", "properties": {
                        "total": { "type": "integer" }, "pages": { "type": "integer" },
                        "currentPage": { "type": "integer" },
                        "records": { "type": "array", "items": { "$ref": "#/components/schemas/Message" } }
                    } } }
                }))) },
            "/webhook/set/{instanceName}": { "post": op("Set the instance's webhook", "Webhook", true,
                Some(body(json!({
                    "type": "object", "required": ["webhook"],
                    "properties": { "webhook": {
                        "type": "object", "required": ["enabled", "url"],
                        "properties": {
                            "enabled": { "type": "boolean" },
                            "url": { "type": "string", "format": "uri" },
                            "headers": { "type": "object", "additionalProperties": { "type": "string" } },
                            "byEvents": { "const": false, "description": "true is not supported" },
                            "base64": { "type": "boolean", "description": "webhookBase64: MESSAGES_UPSERT of a media message carries its bytes as data.message.base64 (stored files of at most 5 MiB; a file the link is still downloading is waited for, up to the gateway's [events] media_wait_ms)" },
                            "events": { "type": "array", "items": { "enum": crate::webhook::EVOLUTION_EVENTS } }
                        }
                    } }
                }))),
                ok("201", "The stored webhook (`secret` signs deliveries, HMAC-SHA256)", obj())) },
            "/webhook/find/{instanceName}": { "get": op("The instance's webhook", "Webhook", true, None,
                ok("200", "The stored webhook, or null", json!({ "type": ["object", "null"] }))) },
            "/websocket/set/{instanceName}": { "post": op("Set which events the instance's Socket.IO namespace /{instanceName} gets (served at /socket.io/ when WEBSOCKET_ENABLED=true; authorised by apikey)", "Websocket", true,
                Some(body(json!({
                    "type": "object", "required": ["websocket"],
                    "properties": { "websocket": {
                        "type": "object", "required": ["enabled"],
                        "properties": {
                            "enabled": { "type": "boolean" },
                            "events": { "type": "array", "items": { "enum": crate::webhook::EVOLUTION_EVENTS }, "description": "empty or absent: every event" }
                        }
                    } }
                }))),
                ok("201", "The stored settings", json!({ "$ref": "#/components/schemas/Websocket" }))) },
            "/websocket/find/{instanceName}": { "get": op("The instance's Socket.IO settings", "Websocket", true, None,
                ok("200", "The stored settings, or null when never set", json!({ "oneOf": [{ "$ref": "#/components/schemas/Websocket" }, { "type": "null" }] }))) },
            "/chat/findChats/{instanceName}": { "post": op("Find stored chats", "Chat", true,
                Some(body(json!({
                    "type": "object",
                    "properties": {
                        "where": { "type": "object", "properties": { "remoteJid": { "type": "string" } } },
                        "take": { "type": "integer" }, "skip": { "type": "integer" }
                    }
                }))),
                ok("200", "Chats, most recent first", json!({ "type": "array", "items": obj() }))) }
        }
    });
    for (path, item) in chatwoot_paths()
        .into_iter()
        .chain(media_paths())
        .chain(crate::group::openapi_paths())
        .chain(crate::contacts::openapi_paths())
        .chain(crate::profile::openapi_paths())
        .chain(crate::account::openapi_paths())
        .chain(crate::lookup::openapi_paths())
        .chain(reaction_paths())
        .chain(presence_paths())
        .chain(content_paths())
        .chain(settings_paths())
        .chain(crate::proxy::openapi_paths())
        .chain(crate::brokers::openapi_paths())
        .chain(crate::labels::openapi_paths())
    {
        doc["paths"][path] = item;
    }
    surface_paths(&mut doc);
    extras(&mut doc);
    finish(&mut doc);
    doc.to_string()
}
/// `/message/sendReaction` (see reactions.rs).
fn reaction_paths() -> [(&'static str, Value); 1] {
    let mut op = op(
        "React to a stored message (an empty reaction removes it)",
        "Message",
        true,
        Some(body(json!({
            "type": "object", "required": ["key", "reaction"],
            "properties": {
                "key": {
                    "type": "object", "required": ["id", "remoteJid", "fromMe"],
                    "properties": {
                        "id": { "type": "string", "minLength": 1, "description": "A message this instance stored." },
                        "remoteJid": { "type": "string", "minLength": 1, "description": "Its chat." },
                        "fromMe": { "type": "boolean" }
                    }
                },
                "reaction": { "type": "string", "maxLength": 16, "description": "One emoji; empty removes the reaction." }
            }
        }))),
        ok(
            "201",
            "The reaction message (`messageType: reactionMessage`)",
            json!({ "type": "object", "required": ["key", "message", "messageType"],
                    "properties": { "key": { "type": "object" }, "message": { "type": "object" },
                                    "messageType": { "const": "reactionMessage" }, "status": { "type": "string" } } }),
        ),
    );
    op["operationId"] = json!("sendReaction");
    [(
        "/message/sendReaction/{instanceName}",
        json!({ "post": op }),
    )]
}

/// `sendLocation`, `sendContact`, `sendPoll` (see content.rs), `sendStatus` (status.rs).
fn content_paths() -> Vec<(&'static str, Value)> {
    let send = |id: &str, summary: &str, schema: Value| {
        let mut o = op(
            summary,
            "Message",
            true,
            Some(body(schema)),
            ok(
                "201",
                "The message",
                json!({ "$ref": "#/components/schemas/Message" }),
            ),
        );
        o["operationId"] = json!(id);
        json!({ "post": o })
    };
    vec![
        (
            "/message/sendLocation/{instanceName}",
            send(
                "sendLocation",
                "Send a location (latitude -90..90, longitude -180..180)",
                json!({
                    "type": "object", "required": ["number", "latitude", "longitude", "name", "address"],
                    "properties": {
                        "number": { "$ref": "#/components/schemas/Number" },
                        "latitude": { "type": "number", "minimum": -90, "maximum": 90 },
                        "longitude": { "type": "number", "minimum": -180, "maximum": 180 },
                        "name": { "type": "string", "maxLength": 1024 }, "address": { "type": "string", "maxLength": 1024 }
                    }
                }),
            ),
        ),
        (
            "/message/sendContact/{instanceName}",
            send(
                "sendContact",
                "Send one or several contact cards (vCards are written from the fields)",
                json!({
                    "type": "object", "required": ["number", "contact"],
                    "properties": {
                        "number": { "$ref": "#/components/schemas/Number" },
                        "contact": { "type": "array", "minItems": 1, "maxItems": 20, "items": {
                            "type": "object", "required": ["fullName", "phoneNumber"],
                            "properties": {
                                "fullName": { "type": "string", "minLength": 1, "maxLength": 1024 },
                                "wuid": { "type": "string", "minLength": 10, "pattern": "^[0-9]+$" },
                                "phoneNumber": { "type": "string", "minLength": 10, "maxLength": 64 },
                                "organization": { "type": "string", "maxLength": 256 },
                                "email": { "type": "string", "maxLength": 256 },
                                "url": { "type": "string", "maxLength": 1024 }
                            }
                        } }
                    }
                }),
            ),
        ),
        (
            "/message/sendPoll/{instanceName}",
            send(
                "sendPoll",
                "Send a poll (2 to 10 distinct options; selectableCount 0 means any number)",
                json!({
                    "type": "object", "required": ["number", "name", "selectableCount", "values"],
                    "properties": {
                        "number": { "$ref": "#/components/schemas/Number" },
                        "name": { "type": "string", "minLength": 1, "maxLength": 1024 },
                        "selectableCount": { "type": "integer", "minimum": 0, "maximum": 10 },
                        "values": { "type": "array", "minItems": 2, "maxItems": 10, "uniqueItems": true,
                                    "items": { "type": "string", "minLength": 1, "maxLength": 1024 } }
                    }
                }),
            ),
        ),
        (
            "/message/sendStatus/{instanceName}",
            send(
                "sendStatus",
                "Post a status update (story) for the contacts named, or for every contact with a push name (allContacts); stored in the status@broadcast chat",
                json!({
                    "type": "object", "required": ["type", "content"],
                    "properties": {
                        "type": { "type": "string", "enum": ["text", "image", "video", "audio"] },
                        "content": { "type": "string", "minLength": 1, "maxLength": 4096, "description": "The text, or the media as a URL or base64" },
                        "caption": { "type": "string", "maxLength": 1024 },
                        "backgroundColor": { "type": "string", "pattern": "^#?([0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})$", "description": "Required for a text: #RRGGBB or #AARRGGBB" },
                        "font": { "type": "integer", "minimum": 0, "maximum": 5, "description": "Required (non-zero) for a text; 3-5 show in WhatsApp's default font" },
                        "statusJidList": { "type": "array", "minItems": 1, "maxItems": 5000, "uniqueItems": true,
                                           "items": { "type": "string", "pattern": "^[0-9]{8,15}(@s\\.whatsapp\\.net)?$" } },
                        "allContacts": { "type": "boolean" }
                    }
                }),
            ),
        ),
    ]
}

/// `/settings/set` and `/settings/find` (see settings.rs).
fn settings_paths() -> Vec<(&'static str, Value)> {
    let flag = || json!({ "type": "boolean" });
    let settings = json!({
        "type": "object",
        "properties": {
            "rejectCall": flag(), "msgCall": { "type": "string", "maxLength": 4096 },
            "groupsIgnore": flag(), "alwaysOnline": flag(), "readMessages": flag(),
            "readStatus": flag(), "syncFullHistory": flag(),
            "wavoipToken": { "const": "", "description": "Wavoip calls are not supported: a non-empty token is refused with 400" }
        }
    });
    let mut set_body = settings.clone();
    set_body["required"] = json!([
        "rejectCall",
        "groupsIgnore",
        "alwaysOnline",
        "readMessages",
        "readStatus",
        "syncFullHistory"
    ]);
    let mut set = op(
        "Set the instance's behaviour: reject calls (msgCall is texted to callers), ignore groups, always online, read messages and status, full history at the next pairing",
        "Settings",
        true,
        Some(body(set_body)),
        ok(
            "201",
            "Saved",
            json!({ "type": "object", "required": ["settings"], "properties": { "settings": {
                "type": "object", "properties": { "instanceName": { "type": "string" }, "settings": settings.clone() } } } }),
        ),
    );
    set["operationId"] = json!("setSettings");
    let mut find = op(
        "The instance's settings",
        "Settings",
        true,
        None,
        ok("200", "The settings", settings),
    );
    find["operationId"] = json!("findSettings");
    vec![
        ("/settings/set/{instanceName}", json!({ "post": set })),
        ("/settings/find/{instanceName}", json!({ "get": find })),
    ]
}

/// Read receipts and presence (see presence.rs).
fn presence_paths() -> Vec<(&'static str, Value)> {
    let key = json!({
        "type": "object", "required": ["id", "fromMe", "remoteJid"],
        "properties": { "id": { "type": "string", "minLength": 1 }, "fromMe": { "type": "boolean" },
                        "remoteJid": { "type": "string", "minLength": 1 } }
    });
    let with_id = |mut op: Value, id: &str| {
        op["operationId"] = json!(id);
        json!({ "post": op })
    };
    vec![
        (
            "/chat/markMessageAsRead/{instanceName}",
            with_id(
                op(
                    "Send read receipts for stored messages (own messages are skipped; an unknown id is 404)",
                    "Chat",
                    true,
                    Some(body(json!({
                        "type": "object", "required": ["readMessages"],
                        "properties": { "readMessages": { "type": "array", "minItems": 1, "maxItems": 256, "items": key.clone() } }
                    }))),
                    ok(
                        "201",
                        "Sent",
                        json!({ "type": "object", "properties": {
                "message": { "const": "Read messages" }, "read": { "const": "success" } } }),
                    ),
                ),
                "markMessageAsRead",
            ),
        ),
        (
            "/chat/markChatUnread/{instanceName}",
            with_id(
                op(
                    "Mark a stored chat unread on the account's devices",
                    "Chat",
                    true,
                    Some(body(json!({
                        "type": "object",
                        "properties": { "chat": { "type": "string" },
                                        "lastMessage": { "type": "object", "required": ["key"], "properties": { "key": key } } }
                    }))),
                    ok(
                        "201",
                        "Marked",
                        json!({ "type": "object", "properties": {
                "chatId": { "type": "string" }, "markedChatUnread": { "const": true } } }),
                    ),
                ),
                "markChatUnread",
            ),
        ),
        (
            "/chat/sendPresence/{instanceName}",
            with_id(
                op(
                    "Show typing or recording in a chat; `paused` follows after `delay` ms (answered at once). available/unavailable set the account's presence",
                    "Chat",
                    true,
                    Some(body(json!({
                        "type": "object", "required": ["number", "presence", "delay"],
                        "properties": {
                            "number": { "$ref": "#/components/schemas/Number" },
                            "presence": { "enum": ["unavailable", "available", "composing", "recording", "paused"] },
                            "delay": { "type": "number", "minimum": 0, "maximum": 60000 }
                        }
                    }))),
                    ok(
                        "201",
                        "Sent",
                        json!({ "type": "object", "properties": { "presence": { "type": "string" } } }),
                    ),
                ),
                "sendPresence",
            ),
        ),
        (
            "/instance/setPresence/{instanceName}",
            with_id(
                op(
                    "Set the account available (online) or unavailable",
                    "Instance",
                    true,
                    Some(body(json!({
                        "type": "object", "required": ["presence"],
                        "properties": { "presence": { "enum": ["available", "unavailable"] } }
                    }))),
                    ok(
                        "201",
                        "Set",
                        json!({ "type": "object", "properties": { "presence": { "type": "string" } } }),
                    ),
                ),
                "setPresence",
            ),
        ),
    ]
}

/// The Chatwoot routes (kept apart: one `json!` for the whole document would exceed the
/// macro's recursion limit).
fn chatwoot_paths() -> [(&'static str, Value); 2] {
    [
        (
            "/chatwoot/set/{instanceName}",
            json!({ "post": op("Set the instance's Chatwoot sync", "Chatwoot", true,
                Some(body(json!({
                    "type": "object",
                    "required": ["enabled", "accountId", "token", "url", "signMsg", "reopenConversation", "conversationPending"],
                    "properties": {
                        "enabled": { "type": "boolean", "description": "false keeps the config and stops the sync" },
                        "accountId": { "type": ["string", "integer"], "description": "Chatwoot account id (numeric)" },
                        "token": { "type": "string", "description": "Chatwoot api_access_token; kept by the gateway, never shown again" },
                        "url": { "type": "string", "format": "uri", "description": "Chatwoot base URL" },
                        "signMsg": { "type": "boolean" },
                        "signDelimiter": { "type": ["string", "null"] },
                        "nameInbox": { "type": ["string", "null"], "description": "default: the instance name" },
                        "reopenConversation": { "type": "boolean" },
                        "conversationPending": { "type": "boolean" },
                        "autoCreate": { "type": "boolean", "description": "create the inbox (at the first delivery) when none has that name" },
                        "ignoreJids": { "type": "array", "items": { "type": "string" } },
                        "importContacts": { "const": false, "description": "true is not supported" },
                        "importMessages": { "const": false, "description": "true is not supported" },
                        "mergeBrazilContacts": { "type": "boolean", "description": "accepted, not applied" },
                        "daysLimitImportMessages": { "type": "number", "description": "accepted, not applied" },
                        "number": { "type": "string" }, "organization": { "type": "string" }, "logo": { "type": "string" }
                    }
                }))),
                ok("201", "The config as given (token masked) and `webhook_url`, the URL (with its token) Chatwoot's inbox must call", json!({ "$ref": "#/components/schemas/Chatwoot" }))) }),
        ),
        (
            "/chatwoot/find/{instanceName}",
            json!({ "get": op("The instance's Chatwoot sync", "Chatwoot", true, None,
                ok("200", "The config (token masked) and `webhook_url`; when none is set, enabled false and empty strings", json!({ "$ref": "#/components/schemas/Chatwoot" }))) }),
        ),
    ]
}

/// The media routes (see `media.rs`), with their operation ids.
fn media_paths() -> Vec<(&'static str, Value)> {
    let number = json!({ "$ref": "#/components/schemas/Number" });
    let source = |what: &str| json!({ "type": "string", "minLength": 1, "description": format!("{what}: an http(s) URL the gateway fetches (its outbound policy applies), or base64") });
    let common = |mut props: Value| {
        props["number"] = number.clone();
        props["mentioned"] =
            json!({ "type": "array", "items": { "type": "string", "pattern": "^\\d+" } });
        props["quoted"] = json!({ "type": "object", "properties": { "key": { "type": "object", "properties": { "id": { "type": "string" } } } } });
        props["delay"] = json!({ "type": "integer", "description": "accepted, not applied" });
        props
    };
    let media_json = json!({
        "type": "object", "required": ["number", "mediatype"],
        "properties": common(json!({
            "mediatype": { "enum": ["image", "document", "video", "audio"] },
            "mimetype": { "type": "string" }, "caption": { "type": "string" },
            "fileName": { "type": "string", "description": "required for a base64 document" },
            "media": source("The file")
        }))
    });
    let mut media_form = media_json.clone();
    media_form["properties"]["file"] = json!({ "type": "string", "format": "binary", "description": "the file, instead of `media`" });
    let too_large = json!({ "description": "The media is larger than the gateway's [media] max_bytes", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    let sent = |id: &str, summary: &str, request: Value| {
        let mut o = op(
            summary,
            "Message",
            true,
            Some(request),
            ok(
                "201",
                "The message (status PENDING)",
                json!({ "$ref": "#/components/schemas/Message" }),
            ),
        );
        o["operationId"] = json!(id);
        o["responses"]["413"] = too_large.clone();
        json!({ "post": o })
    };
    let single = |field: &str, what: &str| {
        body(json!({
            "type": "object", "required": ["number", field],
            "properties": common(json!({ field: source(what) }))
        }))
    };
    let mut base64_op = op(
        "A stored message's media as base64",
        "Chat",
        true,
        Some(body(json!({
            "type": "object", "required": ["message"],
            "properties": {
                "message": { "type": "object", "required": ["key"], "properties": { "key": { "type": "object", "required": ["id"], "properties": { "id": { "type": "string", "minLength": 1 } } } } },
                "convertToMp4": { "type": "boolean", "description": "accepted; audio comes back as stored" }
            }
        }))),
        ok(
            "201",
            "The media",
            json!({
                "type": "object", "required": ["mediaType", "mimetype", "base64"],
                "properties": {
                    "mediaType": { "type": "string" }, "fileName": { "type": "string" }, "caption": { "type": ["string", "null"] },
                    "size": { "type": "object", "properties": { "fileLength": { "type": "string" }, "height": { "type": ["integer", "null"] }, "width": { "type": ["integer", "null"] } } },
                    "mimetype": { "type": "string" }, "base64": { "type": "string" }, "buffer": { "type": "null" }
                }
            }),
        ),
    );
    base64_op["operationId"] = json!("getBase64FromMediaMessage");
    vec![
        (
            "/message/sendMedia/{instanceName}",
            sent(
                "sendMedia",
                "Send an image, video, audio file or document",
                json!({ "required": true, "content": {
                "application/json": { "schema": media_json },
                "multipart/form-data": { "schema": media_form }
            } }),
            ),
        ),
        (
            "/message/sendWhatsAppAudio/{instanceName}",
            sent(
                "sendWhatsAppAudio",
                "Send a voice note (push-to-talk); audio that is not Opus in Ogg is converted to it when the gateway has ffmpeg",
                single("audio", "The audio (any format ffmpeg reads)"),
            ),
        ),
        (
            "/message/sendSticker/{instanceName}",
            sent(
                "sendSticker",
                "Send a sticker (a PNG or JPEG is made a 512x512 WebP; a WebP goes as given)",
                single("sticker", "The WebP, PNG or JPEG image"),
            ),
        ),
        (
            "/message/sendPtv/{instanceName}",
            sent(
                "sendPtv",
                "Send a round video note",
                single("video", "The video"),
            ),
        ),
        (
            "/chat/getBase64FromMediaMessage/{instanceName}",
            json!({ "post": base64_op }),
        ),
    ]
    .into_iter()
    .chain(s3_paths())
    .collect()
}

/// Evolution's S3 routes (see s3.rs): a media row is a stored message's media, `id`
/// the message id; 400 "Media not found" when nothing matches or no bucket is set.
fn s3_paths() -> Vec<(&'static str, Value)> {
    let row = json!({
        "type": "object", "required": ["id", "fileName", "type", "mimetype", "createdAt", "Message"],
        "properties": {
            "id": { "type": "string", "description": "the message id" },
            "fileName": { "type": "string" }, "type": { "type": "string", "description": "imageMessage, documentMessage, ..." },
            "mimetype": { "type": "string" }, "createdAt": { "type": "string", "format": "date-time" },
            "Message": { "$ref": "#/components/schemas/Message" }
        }
    });
    let mut get_media = op(
        "Stored media records (on the S3 media store)",
        "S3",
        true,
        Some(body(json!({
            "type": "object",
            "properties": {
                "id": { "type": "string", "description": "a message id" },
                "type": { "type": "string", "description": "a Baileys message type, e.g. imageMessage" },
                "messageId": { "type": "integer", "description": "Evolution's message row id: wagate has none, so nothing matches" }
            }
        }))),
        ok(
            "201",
            "The media records (at most 500)",
            json!({ "type": "array", "items": row.clone() }),
        ),
    );
    get_media["operationId"] = json!("s3GetMedia");
    let mut url_row = row;
    url_row["required"]
        .as_array_mut()
        .expect("a list")
        .push(json!("mediaUrl"));
    url_row["properties"]["mediaUrl"] =
        json!({ "type": "string", "description": "a presigned GET URL of the bucket" });
    let mut get_media_url = op(
        "A short-lived presigned URL of a stored message's media (on the S3 media store)",
        "S3",
        true,
        Some(body(json!({
            "type": "object", "required": ["id"],
            "properties": {
                "id": { "type": "string", "minLength": 1, "description": "the message id" },
                "expiry": { "type": ["string", "integer"], "pattern": "^[0-9]+$", "minimum": 1, "description": "seconds the URL stays valid (capped by the operator's url_expiry_max_secs, default 3600)" }
            }
        }))),
        ok("200", "The media record with its URL", url_row),
    );
    get_media_url["operationId"] = json!("s3GetMediaUrl");
    vec![
        ("/s3/getMedia/{instanceName}", json!({ "post": get_media })),
        (
            "/s3/getMediaUrl/{instanceName}",
            json!({ "post": get_media_url }),
        ),
    ]
}

/// `GET /`, `POST /verify-creds`, the `FetchedInstance` schema and the routes a
/// WhatsApp Web gateway cannot serve (see `surface.rs`).
fn surface_paths(doc: &mut Value) {
    let not_available = |summary: &str, tag: &str, id: &str| {
        let mut o = op(
            summary,
            tag,
            true,
            None,
            json!({
                "400": { "description": "Method not available in the Baileys service (also: invalid input)", "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/Error" },
                    "example": { "status": 400, "error": "Bad Request", "response": { "message": ["Method not available in the Baileys service"] } }
                } } },
                "401": { "$ref": "#/components/responses/Unauthorized" },
                "404": { "$ref": "#/components/responses/NotFound" }
            }),
        );
        o["operationId"] = json!(id);
        o
    };
    let mut paths: Vec<(String, &str, Value)> = vec![
        (
            "/message/sendTemplate/{instanceName}".into(),
            "post",
            not_available(
                "Cloud API template message: not available on WhatsApp Web",
                "Message",
                "sendTemplate",
            ),
        ),
        (
            "/message/sendList/{instanceName}".into(),
            "post",
            not_available(
                "List message: not available on WhatsApp Web",
                "Message",
                "sendList",
            ),
        ),
        (
            "/message/sendButtons/{instanceName}".into(),
            "post",
            not_available(
                "Buttons message: not available on WhatsApp Web",
                "Message",
                "sendButtons",
            ),
        ),
        (
            "/template/create/{instanceName}".into(),
            "post",
            not_available(
                "Cloud API template: not available on WhatsApp Web",
                "Template",
                "createTemplate",
            ),
        ),
        (
            "/template/find/{instanceName}".into(),
            "get",
            not_available(
                "Cloud API templates: not available on WhatsApp Web",
                "Template",
                "findTemplate",
            ),
        ),
        (
            "/call/offer/{instanceName}".into(),
            "post",
            not_available(
                "Place a call: not available (WhatsApp Web carries no voice here)",
                "Call",
                "offerCall",
            ),
        ),
        (
            "/business/getCatalog/{instanceName}".into(),
            "post",
            not_available(
                "Business catalog: not available here",
                "Business",
                "getCatalog",
            ),
        ),
        (
            "/business/getCollections/{instanceName}".into(),
            "post",
            not_available(
                "Business collections: not available here",
                "Business",
                "getCollections",
            ),
        ),
    ];
    for route in [
        "onWhatsapp",
        "profilePictureUrl",
        "assertSessions",
        "createParticipantNodes",
        "getUSyncDevices",
        "generateMessageTag",
        "sendNode",
        "signalRepositoryDecryptMessage",
        "getAuthState",
    ] {
        paths.push((
            format!("/baileys/{route}/{{instanceName}}"),
            "post",
            not_available(
                "Baileys internals: not served by this gateway",
                "Baileys",
                &format!("baileys_{route}"),
            ),
        ));
    }
    let channel_webhook = |summary: &str, id: &str| {
        json!({
            "summary": summary, "tags": ["Channel"], "security": [], "operationId": id,
            "responses": { "400": { "description": "Method not available in the Baileys service", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } } }
        })
    };
    paths.push((
        "/webhook/meta".into(),
        "get",
        channel_webhook(
            "Cloud API webhook verification: not available here",
            "verifyMetaWebhook",
        ),
    ));
    paths.push((
        "/webhook/meta".into(),
        "post",
        channel_webhook("Cloud API webhook: not available here", "metaWebhook"),
    ));
    paths.push((
        "/webhook/evolution".into(),
        "post",
        channel_webhook(
            "Evolution channel webhook: not available here",
            "evolutionWebhook",
        ),
    ));
    paths.push(("/".into(), "get", json!({
        "summary": "Welcome: the Evolution version mirrored and the client name", "tags": ["Instance"], "security": [],
        "operationId": "welcome",
        "responses": { "200": { "description": "Welcome", "content": { "application/json": { "schema": {
            "type": "object", "required": ["status", "message", "version", "clientName"],
            "properties": {
                "status": { "const": 200 }, "message": { "type": "string" }, "version": { "type": "string" },
                "clientName": { "type": "string" }, "documentation": { "type": "string" }
            }
        } } } } }
    })));
    paths.push(("/verify-creds".into(), "post", json!({
        "summary": "Check the apikey: valid for an organisation-wide key (an instance token is 401, as Evolution's guard answers)",
        "tags": ["Instance"], "security": [{ "apikey": [] }], "operationId": "verifyCreds",
        "responses": {
            "200": { "description": "Credentials are valid", "content": { "application/json": { "schema": {
                "type": "object", "required": ["status", "message"],
                "properties": { "status": { "const": 200 }, "message": { "const": "Credentials are valid" } }
            } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" }
        }
    })));
    for (path, method, item) in paths {
        doc["paths"][path.as_str()][method] = item;
    }
    let nullable = |t: &str| json!({ "type": [t, "null"] });
    doc["components"]["schemas"]["FetchedInstance"] = json!({
        "type": "object",
        "required": ["id", "name", "connectionStatus", "integration", "token", "clientName", "_count"],
        "description": "Evolution's instance row. Values wagate does not know or has not built are null, never made up.",
        "properties": {
            "id": { "type": "string" }, "name": { "type": "string" },
            "connectionStatus": { "enum": ["open", "connecting", "close"] },
            "ownerJid": nullable("string"), "profileName": nullable("string"), "profilePicUrl": nullable("string"),
            "integration": { "const": "WHATSAPP-BAILEYS" }, "number": nullable("string"), "businessId": nullable("string"),
            "token": { "type": ["string", "null"], "description": "The apikey this request was made with (only hashes are stored): it reaches every instance listed" },
            "clientName": { "type": "string" },
            "disconnectionReasonCode": nullable("integer"), "disconnectionObject": {}, "disconnectionAt": nullable("string"),
            "createdAt": { "type": "string" }, "updatedAt": { "type": "string" },
            "Chatwoot": { "type": ["object", "null"], "description": "The Chatwoot integration (token never shown), to `manage` callers" },
            "Proxy": { "oneOf": [{ "$ref": "#/components/schemas/Proxy" }, { "type": "null" }], "description": "The proxy (/proxy/find), password masked, if one is set" }, "Rabbitmq": { "type": "null" }, "Nats": { "type": "null" },
            "Sqs": { "type": "null" }, "Websocket": { "oneOf": [{ "$ref": "#/components/schemas/Websocket" }, { "type": "null" }], "description": "The websocket settings (/websocket/find), if ever set" },
            "Setting": { "type": ["object", "null"], "description": "The instance's settings (as /settings/find) with its instanceId; null only when the caller may not read them",
                "properties": { "rejectCall": { "type": "boolean" }, "msgCall": { "type": "string" }, "groupsIgnore": { "type": "boolean" },
                    "alwaysOnline": { "type": "boolean" }, "readMessages": { "type": "boolean" }, "readStatus": { "type": "boolean" },
                    "syncFullHistory": { "type": "boolean" }, "wavoipToken": { "type": "string" }, "instanceId": { "type": "string" } } },
            "_count": { "type": "object", "required": ["Message", "Contact", "Chat"], "properties": {
                "Message": { "type": "integer" }, "Contact": { "type": "null", "description": "No contact store yet" }, "Chat": { "type": "integer" }
            } }
        }
    });
}
