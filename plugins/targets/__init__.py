"""Built-in upload targets: a folder (local or mounted), an SFTP server, an HTTP endpoint."""
