//! The dialect's OpenAPI 3.1 document, served at `GET /openapi.json`.

use serde_json::{Value, json};

fn instance_param() -> Value {
    json!({
        "name": "instanceName", "in": "path", "required": true,
        "schema": { "type": "string" },
        "description": "The instanceName given at creation."
    })
}

fn body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

fn ok(status: &str, description: &str, schema: Value) -> Value {
    json!({
        status: { "description": description, "content": { "application/json": { "schema": schema } } },
        "400": { "$ref": "#/components/responses/BadRequest" },
        "401": { "$ref": "#/components/responses/Unauthorized" },
        "404": { "$ref": "#/components/responses/NotFound" }
    })
}

fn op(
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

fn obj() -> Value {
    json!({ "type": "object" })
}

/// The document as JSON text.
pub fn document() -> String {
    let message_key = json!({
        "type": "object",
        "properties": {
            "remoteJid": { "type": "string" }, "fromMe": { "type": "boolean" },
            "id": { "type": "string" }, "participant": { "type": "string" }
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
            "description": "Missing or invalid apikey, or no permission (instance tokens cannot delete)",
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
                    "type": "object",
                    "properties": {
                        "status": { "type": "integer" },
                        "error": { "type": "string" },
                        "response": { "type": "object", "properties": { "message": {} } }
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
                    "type": "object",
                    "properties": {
                        "pairingCode": { "type": ["string", "null"] },
                        "code": { "type": "string", "description": "The raw QR payload" },
                        "base64": { "type": "string", "description": "data:image/png;base64,..." },
                        "count": { "type": "integer" }
                    }
                },
                "ConnectionState": {
                    "type": "object",
                    "properties": { "instance": { "type": "object", "properties": {
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
                "Unauthorized": { "description": "Missing or invalid apikey", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "NotFound": { "description": "The instance does not exist", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
        },
        "paths": {
            "/instance/create": { "post": op("Create an instance", "Instance", false,
                Some(body(json!({
                    "type": "object", "required": ["instanceName"],
                    "properties": {
                        "instanceName": { "type": "string" },
                        "integration": { "const": "WHATSAPP-BAILEYS" },
                        "qrcode": { "type": "boolean", "description": "Start pairing and return the QR code" },
                        "number": { "type": "string", "description": "With qrcode: pair by code for this number" }
                    }
                }))),
                ok("201", "Created; `hash` is the instance token (shown once)", obj())) },
            "/instance/fetchInstances": { "get": {
                "summary": "List instances", "tags": ["Instance"], "security": [{ "apikey": [] }],
                "parameters": [
                    { "name": "instanceName", "in": "query", "schema": { "type": "string" } },
                    { "name": "instanceId", "in": "query", "schema": { "type": "string" } }
                ],
                "responses": ok("200", "Instances", json!({ "type": "array", "items": obj() }))
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
            "/instance/restart/{instanceName}": { "post": op("Restart the connection", "Instance", true, None,
                ok("200", "As connect", obj())) },
            "/instance/logout/{instanceName}": { "delete": op("Log out of WhatsApp (keeps the data)", "Instance", true, None,
                ok("200", "Logged out", json!({ "$ref": "#/components/schemas/Success" }))) },
            "/instance/delete/{instanceName}": { "delete": op("Delete an instance permanently", "Instance", true, None, delete_responses) },
            "/message/sendText/{instanceName}": { "post": op("Send a text message", "Message", true,
                Some(body(json!({
                    "type": "object", "required": ["number", "text"],
                    "properties": { "number": { "type": "string" }, "text": { "type": "string" } }
                }))),
                ok("201", "The message", json!({ "$ref": "#/components/schemas/Message" }))) },
            "/chat/deleteMessageForEveryone/{instanceName}": { "delete": op("Revoke a message for everyone", "Chat", true,
                Some(body(json!({
                    "type": "object", "required": ["id", "fromMe", "remoteJid"],
                    "properties": {
                        "id": { "type": "string" }, "fromMe": { "type": "boolean" },
                        "remoteJid": { "type": "string" }, "participant": { "type": "string" }
                    }
                }))),
                ok("201", "The REVOKE protocol message", obj())) },
            "/chat/archiveChat/{instanceName}": { "post": op("Archive or unarchive a chat", "Chat", true,
                Some(body(json!({
                    "type": "object", "required": ["archive"],
                    "properties": {
                        "chat": { "type": "string" }, "archive": { "type": "boolean" },
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
                            "base64": { "type": "boolean", "description": "accepted; events carry no media bytes" },
                            "events": { "type": "array", "items": { "enum": crate::webhook::EVOLUTION_EVENTS } }
                        }
                    } }
                }))),
                ok("201", "The stored webhook (`secret` signs deliveries, HMAC-SHA256)", obj())) },
            "/webhook/find/{instanceName}": { "get": op("The instance's webhook", "Webhook", true, None,
                ok("200", "The stored webhook, or null", json!({ "type": ["object", "null"] }))) },
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
    for (path, item) in chatwoot_paths() {
        doc["paths"][path] = item;
    }
    doc.to_string()
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
