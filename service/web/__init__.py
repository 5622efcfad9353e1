"""The landing page: plain HTML and a little vanilla JavaScript, served as they are."""
