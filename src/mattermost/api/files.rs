//! Files: <https://api.mattermost.com/#tag/files>.

use std::path::Path;

use super::handle;
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::{FileInfo, FileUploadResponse};
use crate::mattermost::{
    ApiRequest, ChannelId, Error, FileId, Multipart, PartReader, Result, guess_mime,
};

handle! {
    /// Handle for file calls; see [`Client::files`](crate::mattermost::Client::files).
    Files
}

impl<'c> Files<'c> {
    /// Uploads one file streamed from `reader` into `channel_id`, as `multipart/form-data`
    /// with `channel_id` before the file part (so Mattermost streams it instead of
    /// buffering). The part's `Content-Type` is guessed from `file_name` (as a browser does;
    /// `application/octet-stream` when the extension is unknown). `length`, when known, is
    /// sent as the part's size. Reference
    /// `file_infos[0].id` in a post's `file_ids`. Not retried (the body is consumed).
    /// `POST /files` (<https://api.mattermost.com/#tag/files/operation/UploadFile>).
    pub async fn upload(
        &self,
        channel_id: &ChannelId,
        file_name: &str,
        reader: PartReader,
        length: Option<u64>,
    ) -> Result<FileUploadResponse> {
        if channel_id.as_str().is_empty() {
            return Err(Error::invalid("channel_id must not be empty"));
        }
        let body = Multipart::new()
            .text("channel_id", channel_id.as_str())
            .file("files", file_name, guess_mime(file_name), length, reader);
        let request = ApiRequest::new(ep::FILES_UPLOAD, &[])?.multipart(body);
        self.client.send_json(&request).await
    }

    /// Uploads the file at `path` (streamed, never read whole into memory); see
    /// [`upload`](Self::upload).
    ///
    /// API: <https://api.mattermost.com/#tag/files/operation/UploadFile>.
    pub async fn upload_path(
        &self,
        channel_id: &ChannelId,
        path: impl AsRef<Path>,
    ) -> Result<FileUploadResponse> {
        let path = path.as_ref();
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| Error::invalid(format!("cannot open {}: {e}", path.display())))?;
        let length = file.metadata().await.ok().map(|m| m.len());
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".to_owned());
        self.upload(channel_id, &name, Box::new(file), length).await
    }

    /// Streams a file's content into `writer`; returns the bytes written. `GET /files/{file_id}`
    /// (<https://api.mattermost.com/#tag/files/operation/GetFile>).
    pub async fn download<W>(&self, file_id: &FileId, writer: &mut W) -> Result<u64>
    where
        W: tokio::io::AsyncWrite + Unpin + ?Sized,
    {
        let request = ApiRequest::new(ep::FILES_GET, &[file_id.as_str()])?;
        self.client.send_to_writer(&request, writer).await
    }

    /// Streams a file's preview image into `writer`. `GET /files/{file_id}/preview`
    /// (<https://api.mattermost.com/#tag/files/operation/GetFilePreview>).
    pub async fn preview<W>(&self, file_id: &FileId, writer: &mut W) -> Result<u64>
    where
        W: tokio::io::AsyncWrite + Unpin + ?Sized,
    {
        let request = ApiRequest::new(ep::FILES_PREVIEW, &[file_id.as_str()])?;
        self.client.send_to_writer(&request, writer).await
    }

    /// Streams a file's thumbnail into `writer`. `GET /files/{file_id}/thumbnail`
    /// (<https://api.mattermost.com/#tag/files/operation/GetFileThumbnail>).
    pub async fn thumbnail<W>(&self, file_id: &FileId, writer: &mut W) -> Result<u64>
    where
        W: tokio::io::AsyncWrite + Unpin + ?Sized,
    {
        let request = ApiRequest::new(ep::FILES_THUMBNAIL, &[file_id.as_str()])?;
        self.client.send_to_writer(&request, writer).await
    }

    /// A file's metadata. `GET /files/{file_id}/info`
    /// (<https://api.mattermost.com/#tag/files/operation/GetFileInfo>).
    pub async fn info(&self, file_id: &FileId) -> Result<FileInfo> {
        self.client
            .send_json(&ApiRequest::new(ep::FILES_INFO, &[file_id.as_str()])?)
            .await
    }

    /// A public link to a file (needs public links enabled). `GET /files/{file_id}/link`
    /// (<https://api.mattermost.com/#tag/files/operation/GetFileLink>).
    pub async fn link(&self, file_id: &FileId) -> Result<String> {
        #[derive(serde::Deserialize)]
        struct Link {
            link: String,
        }
        let link: Link = self
            .client
            .send_json(&ApiRequest::new(ep::FILES_LINK, &[file_id.as_str()])?)
            .await?;
        Ok(link.link)
    }
}
