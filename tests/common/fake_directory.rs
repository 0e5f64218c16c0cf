//! What the fake WhatsApp server knows about people and about the paired account,
//! beyond their keys: each person's LID, business flag, business profile, picture and
//! "about" text; the account's block list and privacy settings. The server answers the
//! IQs that read and change them (`usync`'s lid/business/status protocols,
//! `w:profile:picture`, `w:biz`, `blocklist`, `privacy`) from here, so the real
//! adapter's calls are checked against the wire shapes whatsapp-rust parses.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::wacore_binary::node::Node;

use super::{attr, child};

/// A person on the fake network (keyed by phone number).
#[derive(Clone, Debug, Default)]
pub struct Person {
    /// Their LID (`...@lid`), answered beside their phone JID.
    pub lid: Option<String>,
    /// Their business profile; `Some` makes them a business account.
    pub business: Option<BusinessCard>,
    /// Their picture's URL (and id), when they have one.
    pub picture_url: Option<String>,
    /// Their "about" text.
    pub about: Option<String>,
}

/// A business account's profile as `w:biz` answers it.
#[derive(Clone, Debug, Default)]
pub struct BusinessCard {
    pub description: String,
    pub email: Option<String>,
    pub timezone: Option<String>,
    /// (day, mode, open minute, close minute).
    pub hours: Vec<(String, String, Option<u32>, Option<u32>)>,
}

/// The directory and the account's own lists.
#[derive(Default)]
pub struct Directory {
    pub people: HashMap<String, Person>,
    /// Blocked JIDs (LIDs, as WhatsApp keys its block list).
    pub blocked: BTreeSet<String>,
    /// Privacy category -> value.
    pub privacy: BTreeMap<String, String>,
}

/// The user part of a JID (`5511...` of `5511...:3@s.whatsapp.net`).
fn user_of(jid: &str) -> &str {
    jid.split(['@', ':']).next().unwrap_or_default()
}

impl Directory {
    /// The person a JID names: by phone, or by their LID.
    fn person(&self, jid: &str) -> Option<(&String, &Person)> {
        if jid.ends_with("@lid") {
            self.people
                .iter()
                .find(|(_, p)| p.lid.as_deref().map(user_of) == Some(user_of(jid)))
        } else {
            self.people.get_key_value(user_of(jid))
        }
    }

    /// The children a usync `<user>` answer adds for the protocols `query` asked
    /// (`lid`, `business`, `status`), for `phone`.
    pub fn usync_children(&self, phone: &str, query: &Node) -> Vec<Node> {
        let Some(person) = self.people.get(phone) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if child(query, "lid").is_some()
            && let Some(lid) = &person.lid
        {
            out.push(NodeBuilder::new("lid").attr("val", lid.clone()).build());
        }
        if child(query, "business").is_some() && person.business.is_some() {
            out.push(NodeBuilder::new("business").build());
        }
        if child(query, "status").is_some()
            && let Some(about) = &person.about
        {
            out.push(NodeBuilder::new("status").bytes(about.as_bytes()).build());
        }
        out
    }

    /// Answers the account and profile IQs: `Some(Ok(children))` for a result,
    /// `Some(Err((code, text)))` for an error, `None` when `node` is none of them.
    pub fn answer(
        &mut self,
        node: &Node,
    ) -> Option<Result<Vec<Node>, (&'static str, &'static str)>> {
        let ty = attr(node, "type").unwrap_or_default();
        match (attr(node, "xmlns").as_deref(), ty.as_str()) {
            (Some("w:profile:picture"), "get") => {
                let target = attr(node, "target").unwrap_or_default();
                Some(Ok(
                    match self
                        .person(&target)
                        .and_then(|(_, p)| p.picture_url.clone())
                    {
                        Some(url) => vec![
                            NodeBuilder::new("picture")
                                .attr("id", "1700000000")
                                .attr("type", "image")
                                .attr("url", url)
                                .build(),
                        ],
                        // No `<picture>`: whatsapp-rust reads "no picture".
                        None => Vec::new(),
                    },
                ))
            }
            (Some("w:biz"), "get") => {
                let asked = child(node, "business_profile")
                    .and_then(|b| child(b, "profile"))
                    .and_then(|p| attr(p, "jid"))
                    .unwrap_or_default();
                let Some(card) = self.person(&asked).and_then(|(_, p)| p.business.clone()) else {
                    return Some(Ok(Vec::new()));
                };
                Some(Ok(vec![business_profile(&asked, &card)]))
            }
            (Some("blocklist"), "get") => {
                let items = self
                    .blocked
                    .iter()
                    .map(|j| NodeBuilder::new("item").attr("jid", j.clone()).build())
                    .collect::<Vec<_>>();
                Some(Ok(vec![NodeBuilder::new("list").children(items).build()]))
            }
            (Some("blocklist"), "set") => {
                let item = child(node, "item")?;
                let jid = attr(item, "jid").unwrap_or_default();
                match attr(item, "action").as_deref() {
                    // Modern WhatsApp refuses a block without both addresses.
                    Some("block") if !jid.ends_with("@lid") || attr(item, "pn_jid").is_none() => {
                        Some(Err(("400", "bad-request")))
                    }
                    Some("block") => {
                        self.blocked.insert(jid);
                        Some(Ok(Vec::new()))
                    }
                    Some("unblock") => {
                        self.blocked.remove(&jid);
                        Some(Ok(Vec::new()))
                    }
                    _ => Some(Err(("400", "bad-request"))),
                }
            }
            (Some("privacy"), "get") => {
                let categories = self
                    .privacy
                    .iter()
                    .map(|(name, value)| {
                        NodeBuilder::new("category")
                            .attr("name", name.clone())
                            .attr("value", value.clone())
                            .build()
                    })
                    .collect::<Vec<_>>();
                Some(Ok(vec![
                    NodeBuilder::new("privacy").children(categories).build(),
                ]))
            }
            (Some("privacy"), "set") => {
                let category = child(node, "privacy").and_then(|p| child(p, "category"))?;
                let (Some(name), Some(value)) = (attr(category, "name"), attr(category, "value"))
                else {
                    return Some(Err(("400", "bad-request")));
                };
                self.privacy.insert(name, value);
                Some(Ok(Vec::new()))
            }
            _ => None,
        }
    }
}

/// `<business_profile><profile jid=…>…</profile></business_profile>` as `w:biz` answers.
/// Texts go as bytes, as the real server sends them: the binary encoding would pack
/// a string with an `@` (an email address) as a JID.
fn business_profile(jid: &str, card: &BusinessCard) -> Node {
    let mut fields = vec![
        NodeBuilder::new("description")
            .bytes(card.description.as_bytes())
            .build(),
    ];
    if let Some(email) = &card.email {
        fields.push(NodeBuilder::new("email").bytes(email.as_bytes()).build());
    }
    if !card.hours.is_empty() || card.timezone.is_some() {
        let days = card
            .hours
            .iter()
            .map(|(day, mode, open, close)| {
                let mut b = NodeBuilder::new("business_hours_config")
                    .attr("day_of_week", day.clone())
                    .attr("mode", mode.clone());
                if let Some(open) = open {
                    b = b.attr("open_time", open.to_string());
                }
                if let Some(close) = close {
                    b = b.attr("close_time", close.to_string());
                }
                b.build()
            })
            .collect::<Vec<_>>();
        let mut hours = NodeBuilder::new("business_hours");
        if let Some(tz) = &card.timezone {
            hours = hours.attr("timezone", tz.clone());
        }
        fields.push(hours.children(days).build());
    }
    NodeBuilder::new("business_profile")
        .children([NodeBuilder::new("profile")
            .attr("jid", jid.to_string())
            .children(fields)
            .build()])
        .build()
}
