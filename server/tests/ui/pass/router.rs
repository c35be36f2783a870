#![deny(warnings)]
//! `uplift::router![...]` collects routes by path, from other modules too.

mod routes {
    use serde::{Deserialize, Serialize};
    use uplift::{UploadError, UploadedFile};

    #[derive(Serialize, Deserialize)]
    pub struct Owner {
        pub id: u64,
    }

    pub mod hooks {
        use super::Owner;
        use uplift::{UploadError, UploadedFile};

        pub async fn stored(
            owner: Owner,
            file: UploadedFile,
        ) -> Result<(u64, String), UploadError> {
            Ok((owner.id, file.key))
        }
    }

    async fn anything(_owner: Owner, _file: UploadedFile) -> Result<(), UploadError> {
        Ok(())
    }

    #[uplift::file_route(image, on_upload_complete = hooks::stored)]
    pub async fn avatar() -> Result<Owner, UploadError> {
        Ok(Owner { id: 1 })
    }

    #[uplift::file_route(pdf(max_file_count = 10), text, on_upload_complete = self::anything)]
    pub(crate) async fn documents() -> Result<Owner, UploadError> {
        Ok(Owner { id: 2 })
    }
}

fn main() {
    let router = uplift::router![routes::avatar, routes::documents];
    let slugs: Vec<&str> = router.routes().iter().map(|r| r.slug()).collect();
    assert_eq!(slugs, ["avatar", "documents"]);
    assert_eq!(router.get("documents").unwrap().config().types.len(), 2);

    // A trailing comma, and a single route.
    let one = uplift::router![routes::avatar,];
    assert_eq!(one.routes().len(), 1);

    // The trait is there for anyone to call.
    use uplift::FileRoute;
    assert_eq!(routes::avatar::route().slug(), "avatar");
}
