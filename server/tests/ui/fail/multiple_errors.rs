use uplift::UploadError;

// Every mistake is reported at once, and the function is still emitted.
#[uplift::file_route(
    image(max_file_size = "2XB", max_file_count = 0),
    imag,
    video(min_file_count = 2, acl = "secret"),
    image,
    slug = "has spaces",
    slug = "again"
)]
fn media(_a: String, _b: u32) -> Result<(), UploadError> {
    Ok(())
}

fn main() {
    let _ = media;
}
