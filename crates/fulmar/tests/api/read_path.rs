//! The hot read path of the store (`fulmar_store::read`): on SQLite its queries run
//! on separate reader connections through rusqlite, on PostgreSQL through sqlx. These
//! tests hold both to the same results, and the SQLite readers to what they promise:
//! they see every committed write at once, and they cannot write.

use fulmar_store::read::Select;
use fulmar_store::StoreError;

use crate::db_test;
use crate::helpers::{Backend, TestApp};
use crate::timelines::exec;

db_test!(
    a_read_sees_what_was_just_committed,
    |app: TestApp| async move {
        let alice = app.create_user("alice").await;
        // Written through the writers' pool, read back at once through the read path.
        exec(
            &app,
            "UPDATE accounts SET display_name = 'Alice A.' WHERE id = $1",
            &[alice.id],
        )
        .await;
        let rows = fulmar_store::accounts::by_ids(app.db(), &[alice.id, 424242])
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "the unknown id matches nothing");
        assert_eq!(rows[0].display_name, "Alice A.");
        assert_eq!(rows[0].username, "alice");
        assert!(rows[0].domain.is_none());

        // Bound text and integers, numbered in the order they were pushed.
        let mut q = Select::new("SELECT id, username FROM accounts WHERE username = ");
        q.push_bind("alice");
        q.push(" AND id = ");
        q.push_bind(alice.id);
        assert_eq!(
            q.sql(),
            "SELECT id, username FROM accounts WHERE username = $1 AND id = $2"
        );
        let row: Option<(i64, String)> = q.fetch_optional(app.db()).await.unwrap();
        assert_eq!(row, Some((alice.id, "alice".to_owned())));

        // An empty id list is `(NULL)`, which matches nothing, on both databases.
        let none = fulmar_store::accounts::versions(app.db(), &[])
            .await
            .unwrap();
        assert!(none.is_empty());
        let mut q = Select::new("SELECT id FROM accounts WHERE id IN ");
        fulmar_store::push_id_list(&mut q, &[]);
        let rows: Vec<(i64,)> = q.fetch_all(app.db()).await.unwrap();
        assert!(rows.is_empty());
    }
);

db_test!(
    a_query_that_does_not_fit_its_row_type_is_an_error,
    |app: TestApp| async move {
        let alice = app.create_user("alice").await;
        // A column the row type needs is missing: an error, not a panic.
        let mut q = Select::new("SELECT id FROM accounts WHERE id = ");
        q.push_bind(alice.id);
        let err = q
            .fetch_all::<fulmar_store::accounts::AccountRow>(app.db())
            .await
            .unwrap_err();
        match app.backend {
            Backend::Sqlite => assert!(matches!(err, StoreError::Read(_)), "{err:?}"),
            Backend::Postgres => assert!(matches!(err, StoreError::Database(_)), "{err:?}"),
        }
        // So is SQL the database rejects.
        let err = Select::new("SELECT nothing FROM nowhere")
            .fetch_all::<(i64,)>(app.db())
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Read(_) | StoreError::Database(_)),
            "{err:?}"
        );
    }
);

db_test!(sqlite_readers_cannot_write, |app: TestApp| async move {
    if app.backend != Backend::Sqlite {
        // PostgreSQL reads go through the ordinary pool; only the SQLite readers are
        // separate connections that must be kept from writing.
        return;
    }
    let alice = app.create_user("alice").await;
    let mut q = Select::new("UPDATE accounts SET display_name = 'changed' WHERE id = ");
    q.push_bind(alice.id);
    q.push(" RETURNING id");
    let err = q.fetch_all::<(i64,)>(app.db()).await.unwrap_err();
    assert!(
        err.to_string().contains("readonly") || err.to_string().contains("read-only"),
        "{err}"
    );
    let rows = fulmar_store::accounts::by_ids(app.db(), &[alice.id])
        .await
        .unwrap();
    assert_eq!(
        rows[0].display_name, alice.display_name,
        "nothing was written"
    );
});
