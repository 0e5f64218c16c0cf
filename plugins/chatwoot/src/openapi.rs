//! The dialect's OpenAPI 3.1 document: the one route Chatwoot calls.

use serde_json::json;

pub(crate) fn document() -> String {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "wagate chatwoot (inbound webhook)",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Chatwoot's webhook for an instance's inbox. Configure it through a dialect's Chatwoot endpoints (e.g. Evolution's POST /chatwoot/set/{instanceName}, whose answer's webhook_url is this route with its token); an auto-created inbox points here by itself."
        },
        "paths": {
            "/{instanceName}": {
                "post": {
                    "operationId": "chatwootWebhook",
                    "summary": "Receive a Chatwoot webhook",
                    "description": "message_created (outgoing, not private, by an agent) is sent on WhatsApp; message_updated with content_attributes.deleted revokes the WhatsApp message; conversation_status_changed and every other event send nothing.",
                    "parameters": [
                        { "name": "instanceName", "in": "path", "required": true, "schema": { "type": "string", "minLength": 1 } }
                    ],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "properties": {
                        "event": { "type": "string" },
                        "id": { "type": "integer" },
                        "content": { "type": ["string", "null"] },
                        "message_type": { "type": "string" },
                        "private": { "type": "boolean" },
                        "source_id": { "type": ["string", "null"] },
                        "content_attributes": { "type": "object" },
                        "sender": { "type": "object" },
                        "conversation": { "type": "object" }
                    } } } } },
                    "responses": {
                        "200": { "description": "Done or ignored", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Answer" } } } },
                        "400": { "description": "The body is not a JSON object", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Answer" } } } },
                        "413": { "description": "The request body is larger than the gateway's max_body_bytes (answered by the gateway, in its own error shape)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/GatewayError" } } } },
                        "401": { "description": "No token, or not this instance's", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Answer" } } } },
                        "404": { "description": "No such instance, or no Chatwoot integration", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Answer" } } } },
                        "409": { "description": "The instance is not connected to WhatsApp: not sent (Chatwoot marks it failed)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Answer" } } } },
                        "422": { "description": "Not sendable as it is (no WhatsApp number for the contact, text too long)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Answer" } } } },
                        "429": { "description": "Rate limited: not sent", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Answer" } } } },
                        "502": { "description": "The gateway failed to hand the message to WhatsApp (Chatwoot marks it failed)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Answer" } } } }
                    }
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": { "description": "OpenAPI 3.1 JSON", "content": { "application/json": { "schema": { "type": "object" } } } }
                    }
                }
            }
        },
        "security": [{ "token": [] }, { "tokenHeader": [] }],
        "components": {
            "securitySchemes": {
                "token": { "type": "apiKey", "in": "query", "name": "token", "description": "The integration's inbound secret (bound to the instance), as the webhook_url a dialect's Chatwoot endpoint answers carries it." },
                "tokenHeader": { "type": "apiKey", "in": "header", "name": "x-wagate-token", "description": "The same secret as a header." }
            },
            "schemas": {
            "GatewayError": { "type": "object", "required": ["error"], "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": { "code": { "type": "string" }, "message": { "type": "string" } } } } },
            "Answer": { "type": "object", "required": ["status"], "properties": {
            "status": { "type": "string", "enum": ["ok", "ignored", "error"] },
            "action": { "type": "string" },
            "reason": { "type": "string" },
            "id": { "type": "string", "description": "The WhatsApp message id, when sent" }
        } } } }
    })
    .to_string()
}
