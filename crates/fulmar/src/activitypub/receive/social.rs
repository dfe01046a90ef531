//! Relations and interactions: Follow, Accept, Reject, Undo, Like (and EmojiReact),
//! Announce, Block, and Update or Delete of an actor.

use super::{ignored, ReceiveResult, Received};

macro_rules! not_yet {
    ($($name:ident),*) => {$(
        pub async fn $name(r: &Received<'_>) -> ReceiveResult<()> {
            let _ = r;
            Err(ignored(concat!(stringify!($name), " is not handled yet")))
        }
    )*};
}

not_yet!(
    follow,
    accept,
    reject,
    undo,
    like,
    announce,
    block,
    update_actor,
    delete_actor
);
