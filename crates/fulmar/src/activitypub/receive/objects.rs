//! Create, Update and Delete of statuses (Note, Question, Article, Page, Image, Video,
//! Event, Audio).

use super::{ignored, ReceiveResult, Received};

pub async fn create(r: &Received<'_>) -> ReceiveResult<()> {
    let _ = r;
    Err(ignored("Create is not handled yet"))
}

pub async fn update(r: &Received<'_>) -> ReceiveResult<()> {
    let _ = r;
    Err(ignored("Update is not handled yet"))
}

pub async fn delete(r: &Received<'_>) -> ReceiveResult<()> {
    let _ = r;
    Err(ignored("Delete is not handled yet"))
}
