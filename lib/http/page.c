/* SPDX-License-Identifier: ISC */
/* page.c — the live page served at GET / (see page.h for what it may call). */
#include "http/page.h"

const char ev_http_page[] =
"<!doctype html>\n"
"<html lang=\"en\"><head><meta charset=\"utf-8\"><title>evhttp</title>\n"
"<meta name=\"viewport\" content=\"width=device-width\">\n"
"<style>body{font:14px monospace;margin:1em}li{white-space:pre-wrap}</style>\n"
"</head><body><h1>evhttp</h1><ol id=\"events\"></ol>\n"
"<script>\n"
"const list = document.getElementById('events');\n"
"const es = new EventSource('events');\n"
"es.onmessage = (m) => { const li = document.createElement('li');\n"
"  li.textContent = m.data; list.appendChild(li); };\n"
"</script></body></html>\n";

const size_t ev_http_page_len = sizeof ev_http_page - 1;
