//! Announcements between relays over one PostgreSQL database (`LISTEN/NOTIFY`): what a
//! committed write tells the other relays, and the listening connection that hears it.

/// The one channel relays over a PostgreSQL database announce their writes on (`NOTIFY`), with a
/// [`Notice`] as the payload. One channel for every document rather than one per document: a
/// relay would otherwise `LISTEN` on as many channels as it has documents loaded, and PostgreSQL
/// matches every notification against every listener's channel list.
pub const CHANNEL: &str = "contactpoint";

/// What is announced on [`CHANNEL`]: a few dozen bytes, far below PostgreSQL's 8,000-byte cap.
/// Notifications are delivered only to connections listening at commit and never replayed, so a
/// listener that was away reads the tables afresh; a notice only says where to look.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// A document received a chunk with this sequence number.
    Chunk {
        /// The document's id.
        doc: String,
        /// The chunk's sequence number.
        seq: i64,
    },
    /// A device was revoked, a user disabled, or a document tombstoned (rotated or erased): look
    /// at the revocations and tombstones now rather than at the next poll.
    Access,
    /// A device's token was replaced: the connections it opened with the old one are closed.
    /// The relay that replaced it closed its own at once, and may already hold a connection
    /// opened with the new token, so it does not act on its own notice.
    Rotated {
        /// The device.
        device_id: i64,
        /// The [`crate::sql::Conn::origin`] of the relay that replaced it.
        origin: u64,
    },
}

impl Notice {
    /// The payload's text.
    pub fn payload(&self) -> String {
        match self {
            Notice::Chunk { doc, seq } => format!("chunk {doc} {seq}"),
            Notice::Access => "access".into(),
            Notice::Rotated { device_id, origin } => format!("rotated {device_id} {origin}"),
        }
    }

    /// Reads a payload; `None` for one this version does not know.
    pub fn parse(payload: &str) -> Option<Notice> {
        let mut words = payload.split(' ');
        let notice = match words.next()? {
            "chunk" => Notice::Chunk { doc: words.next()?.to_owned(), seq: words.next()?.parse().ok()? },
            "access" => Notice::Access,
            "rotated" => {
                Notice::Rotated { device_id: words.next()?.parse().ok()?, origin: words.next()?.parse().ok()? }
            }
            _ => return None,
        };
        words.next().is_none().then_some(notice)
    }
}

/// What a relay's listening connection hears.
#[derive(Debug)]
pub enum Heard {
    /// The connection listens (again): what was announced before may have been missed, so the
    /// tables are to be read as by a poll.
    Listening,
    /// A notification's payload.
    Notice(String),
    /// The connection dropped; it is being connected again.
    Lost,
}

/// Listens on [`CHANNEL`] over a connection of its own, passing what it hears to `out`, and
/// connects again (after a pause) whenever the connection drops, until `out` is closed. Runs on
/// the PostgreSQL runtime.
pub(crate) async fn listen(config: tokio_postgres::Config, out: tokio::sync::mpsc::UnboundedSender<Heard>) {
    let mut pause = std::time::Duration::from_millis(100);
    while !out.is_closed() {
        match config.connect(tokio_postgres::NoTls).await {
            Ok((client, mut connection)) => {
                // The connection is polled here for the client's answers and for notifications.
                let heard = out.clone();
                let driver = tokio::spawn(async move {
                    loop {
                        match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                            Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => {
                                if heard.send(Heard::Notice(n.payload().to_owned())).is_err() {
                                    return;
                                }
                            }
                            Some(Ok(_)) => {}
                            Some(Err(e)) => {
                                tracing::warn!("the listening connection to the database failed: {e}");
                                return;
                            }
                            None => return,
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        pause = std::time::Duration::from_millis(100);
                        if out.send(Heard::Listening).is_err() {
                            return;
                        }
                        let mut driver = driver;
                        tokio::select! {
                            _ = &mut driver => {}
                            () = out.closed() => {
                                // The watcher is gone (the relay stopped): stop listening.
                                driver.abort();
                                return;
                            }
                        }
                        tracing::warn!("lost the listening connection to the database; connecting again");
                        if out.send(Heard::Lost).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!("could not listen for other relays' writes: {e}");
                        driver.abort();
                    }
                }
                drop(client);
            }
            Err(e) => tracing::warn!("could not connect to listen for other relays' writes: {e}"),
        }
        if out.is_closed() {
            return;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_read_back_as_written() {
        for n in [
            Notice::Chunk { doc: "2x7Qd".into(), seq: 42 },
            Notice::Access,
            Notice::Rotated { device_id: 7, origin: 99 },
        ] {
            assert_eq!(Notice::parse(&n.payload()), Some(n));
        }
        assert_eq!(Notice::parse("chunk 2x7Qd"), None);
        assert_eq!(Notice::parse("access now"), None);
        assert_eq!(Notice::parse("later"), None);
    }
}
