//! The domain: instances, chats, messages, credentials and authorization.
pub mod model;
