//! A WhatsApp contact for the fake server: one device with its own Signal keys, so
//! the server can hand the gateway's client real end-to-end encrypted messages from
//! it and read the ones the client sends it (how a test learns the media key the
//! client put in a message, as the recipient's phone would).
//!
//! Built from the crate's own Signal implementation (`wacore::libsignal`): X3DH
//! with the other side's pre-key bundle, then the double ratchet. The stores are
//! plain in-memory maps; identities are always trusted (the test owns both sides).
#![allow(dead_code)]
#![allow(unreachable_pub)]

use std::collections::HashMap;

use async_trait::async_trait;
use whatsapp_rust::buffa::Message as _;
use whatsapp_rust::wacore::libsignal::protocol::{
    CiphertextMessage, Direction, GenericSignedPreKey as _, IdentityChange, IdentityKey,
    IdentityKeyPair, IdentityKeyStore, KeyPair, PreKeyBundle, PreKeyId, PreKeyRecord,
    PreKeySignalMessage, PreKeyStore, ProtocolAddress, SessionRecord, SessionStore, SignalMessage,
    SignalProtocolError, SignedPreKeyId, SignedPreKeyRecord, SignedPreKeyStore, Timestamp,
    UsePQRatchet, message_decrypt, message_encrypt, process_prekey_bundle,
};
use whatsapp_rust::wacore::messages::MessageUtils;
use whatsapp_rust::waproto::whatsapp as wa;

type Result<T> = std::result::Result<T, SignalProtocolError>;

#[derive(Default)]
struct Sessions(HashMap<ProtocolAddress, SessionRecord>);

#[async_trait]
impl SessionStore for Sessions {
    async fn load_session(&self, a: &ProtocolAddress) -> Result<Option<SessionRecord>> {
        Ok(self.0.get(a).cloned())
    }
    async fn has_session(&self, a: &ProtocolAddress) -> Result<bool> {
        Ok(self.0.contains_key(a))
    }
    async fn store_session(&mut self, a: &ProtocolAddress, r: SessionRecord) -> Result<()> {
        self.0.insert(a.clone(), r);
        Ok(())
    }
}

struct Identity {
    pair: IdentityKeyPair,
    registration_id: u32,
    known: HashMap<ProtocolAddress, IdentityKey>,
}

#[async_trait]
impl IdentityKeyStore for Identity {
    async fn get_identity_key_pair(&self) -> Result<IdentityKeyPair> {
        Ok(self.pair.clone())
    }
    async fn get_local_registration_id(&self) -> Result<u32> {
        Ok(self.registration_id)
    }
    async fn save_identity(
        &mut self,
        a: &ProtocolAddress,
        id: &IdentityKey,
    ) -> Result<IdentityChange> {
        Ok(match self.known.insert(a.clone(), *id) {
            Some(old) if &old != id => IdentityChange::ReplacedExisting,
            _ => IdentityChange::NewOrUnchanged,
        })
    }
    async fn is_trusted_identity(
        &self,
        _: &ProtocolAddress,
        _: &IdentityKey,
        _: Direction,
    ) -> Result<bool> {
        Ok(true)
    }
    async fn get_identity(&self, a: &ProtocolAddress) -> Result<Option<IdentityKey>> {
        Ok(self.known.get(a).copied())
    }
}

#[derive(Default)]
struct PreKeys(HashMap<PreKeyId, PreKeyRecord>);

#[async_trait]
impl PreKeyStore for PreKeys {
    async fn get_pre_key(&self, id: PreKeyId) -> Result<PreKeyRecord> {
        self.0
            .get(&id)
            .cloned()
            .ok_or(SignalProtocolError::InvalidPreKeyId)
    }
    async fn save_pre_key(&mut self, id: PreKeyId, record: &PreKeyRecord) -> Result<()> {
        self.0.insert(id, record.clone());
        Ok(())
    }
    async fn remove_pre_key(&mut self, id: PreKeyId) -> Result<()> {
        self.0.remove(&id);
        Ok(())
    }
}

#[derive(Default)]
struct SignedPreKeys(HashMap<SignedPreKeyId, SignedPreKeyRecord>);

#[async_trait]
impl SignedPreKeyStore for SignedPreKeys {
    async fn get_signed_pre_key(&self, id: SignedPreKeyId) -> Result<SignedPreKeyRecord> {
        self.0
            .get(&id)
            .cloned()
            .ok_or(SignalProtocolError::InvalidSignedPreKeyId)
    }
    async fn save_signed_pre_key(
        &mut self,
        id: SignedPreKeyId,
        record: &SignedPreKeyRecord,
    ) -> Result<()> {
        self.0.insert(id, record.clone());
        Ok(())
    }
}

/// The public half of a device's keys, as the `encrypt` key fetch returns them.
#[derive(Clone)]
pub struct Bundle {
    pub registration_id: u32,
    pub device_id: u32,
    pub identity: IdentityKey,
    pub signed_pre_key_id: u32,
    pub signed_pre_key: whatsapp_rust::wacore::libsignal::protocol::PublicKey,
    pub signature: Vec<u8>,
    /// A one-time pre-key, if the device offers one.
    pub pre_key: Option<(u32, whatsapp_rust::wacore::libsignal::protocol::PublicKey)>,
}

impl Bundle {
    fn to_signal(&self) -> PreKeyBundle {
        PreKeyBundle::new(
            self.registration_id,
            self.device_id.into(),
            self.pre_key.map(|(id, key)| (id.into(), key)),
            self.signed_pre_key_id.into(),
            self.signed_pre_key,
            self.signature.clone(),
            self.identity,
        )
        .expect("a valid pre-key bundle")
    }
}

/// One contact device: its keys and its sessions with others.
pub struct Peer {
    identity: Identity,
    sessions: Sessions,
    pre_keys: PreKeys,
    signed_pre_keys: SignedPreKeys,
    bundle: Bundle,
}

const SIGNED_PRE_KEY_ID: u32 = 1;
const PRE_KEY_ID: u32 = 1;

impl Peer {
    /// A device with fresh identity, signed pre-key and one one-time pre-key.
    pub async fn new() -> Peer {
        let mut rng = rand10::make_rng::<rand10::rngs::StdRng>();
        let pair = IdentityKeyPair::generate(&mut rng);
        let signed = KeyPair::generate(&mut rng);
        let signature = pair
            .private_key()
            .calculate_signature(&signed.public_key.serialize(), &mut rng)
            .expect("sign the pre-key")
            .to_vec();
        let one_time = KeyPair::generate(&mut rng);
        let mut pre_keys = PreKeys::default();
        pre_keys
            .save_pre_key(
                PRE_KEY_ID.into(),
                &PreKeyRecord::new(PRE_KEY_ID.into(), &one_time),
            )
            .await
            .expect("pre-key saved");
        let mut signed_pre_keys = SignedPreKeys::default();
        signed_pre_keys
            .save_signed_pre_key(
                SIGNED_PRE_KEY_ID.into(),
                &SignedPreKeyRecord::new(
                    SIGNED_PRE_KEY_ID.into(),
                    Timestamp::from_epoch_millis(0),
                    &signed,
                    &signature,
                ),
            )
            .await
            .expect("signed pre-key saved");
        let bundle = Bundle {
            registration_id: 4242,
            device_id: 0,
            identity: *pair.identity_key(),
            signed_pre_key_id: SIGNED_PRE_KEY_ID,
            signed_pre_key: signed.public_key,
            signature,
            pre_key: Some((PRE_KEY_ID, one_time.public_key)),
        };
        Peer {
            identity: Identity {
                pair,
                registration_id: 4242,
                known: HashMap::new(),
            },
            sessions: Sessions::default(),
            pre_keys,
            signed_pre_keys,
            bundle,
        }
    }

    /// This device's public keys (what the server hands a client that wants to
    /// write to it).
    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    /// Starts a session with the device at `to` from its published keys.
    pub async fn start_session(&mut self, to: &ProtocolAddress, theirs: &Bundle) {
        process_prekey_bundle(
            to,
            &mut self.sessions,
            &mut self.identity,
            &theirs.to_signal(),
            &mut rand10::make_rng::<rand10::rngs::StdRng>(),
            UsePQRatchet::No,
        )
        .await
        .expect("session from the bundle");
    }

    /// Encrypts `message` for `to` (padded as WhatsApp pads it): the `<enc>` type
    /// (`pkmsg` until the other side answered, then `msg`) and the bytes.
    pub async fn encrypt(
        &mut self,
        to: &ProtocolAddress,
        message: &wa::Message,
    ) -> (&'static str, Vec<u8>) {
        let plain = MessageUtils::encode_and_pad(message);
        match message_encrypt(&plain, to, &mut self.sessions, &mut self.identity)
            .await
            .expect("encrypt")
        {
            CiphertextMessage::PreKeySignalMessage(m) => ("pkmsg", m.serialized().to_vec()),
            CiphertextMessage::SignalMessage(m) => ("msg", m.serialized().to_vec()),
            _ => panic!("unexpected ciphertext kind"),
        }
    }

    /// Decrypts an `<enc>` of type `kind` (`pkmsg` or `msg`) from `from`.
    pub async fn decrypt(
        &mut self,
        from: &ProtocolAddress,
        kind: &str,
        bytes: &[u8],
    ) -> wa::Message {
        let ciphertext = match kind {
            "pkmsg" => CiphertextMessage::PreKeySignalMessage(
                PreKeySignalMessage::try_from(bytes).expect("a pre-key message"),
            ),
            "msg" => CiphertextMessage::SignalMessage(
                SignalMessage::try_from(bytes).expect("a signal message"),
            ),
            other => panic!("cannot decrypt <enc type={other}>"),
        };
        let plain = message_decrypt(
            &ciphertext,
            from,
            &mut self.sessions,
            &mut self.identity,
            &mut self.pre_keys,
            &self.signed_pre_keys,
            &mut rand10::make_rng::<rand10::rngs::StdRng>(),
            UsePQRatchet::No,
        )
        .await
        .expect("decrypt")
        .plaintext;
        let unpadded = MessageUtils::unpad_message_ref(&plain, 2).expect("padding");
        wa::Message::decode_from_slice(unpadded).expect("a message")
    }
}
