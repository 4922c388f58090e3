#!/bin/sh
# SPDX-License-Identifier: ISC
# gen-events.sh — deterministic CloudEvents 1.0 NDJSON for the tests, so they
# need nothing outside the repository.
#   tests/gen-events.sh N [DUP_PERCENT] [SEED] > events.ndjson
# N lines in all. DUP_PERCENT of them (default 0) repeat, byte for byte, one
# of the last 4096 events made (an at-least-once redelivery). The same N,
# DUP_PERCENT and SEED give the same bytes with any POSIX awk.
# Members come in this order: specversion, id, source, type, time, subject,
# datacontenttype, data. Ids are unique and time-ordered, times rise from
# 2024-01-01T00:00:00Z by 1-20 ms; 20 types, order.* and payment.* carry
# .data.amount (two decimals, about 30% above 500); some strings are not
# ASCII, and a few order.placed events carry a gift message with \" and \n.
set -eu
case "${1:-}" in
'' | *[!0-9]*)
	echo "usage: gen-events.sh N [dup_percent] [seed]" >&2
	exit 2 ;;
esac
LC_ALL=C exec awk -v n="$1" -v dup="${2:-0}" -v seed="${3:-1}" '
function rnd(m) { state = (state * 16807) % 2147483647; return state % m }
function pk(a) { return a[rnd(a[0]) + 1] }
function money(big) {
	if (big)
		return sprintf("%d.%02d", 500 + rnd(4500), rnd(100))
	return sprintf("%d.%02d", 1 + rnd(499), rnd(100))
}
# The clock: ms since the epoch, and the civil date, advanced day by day.
function tick(   step) {
	step = 1 + rnd(20)
	ms += step; dayms += step
	while (dayms >= 86400000) {
		dayms -= 86400000
		if (++day > mdays(year, month)) {
			day = 1
			if (++month > 12) { month = 1; year++ }
		}
	}
}
function mdays(y, m) {
	if (m == 2) return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28
	return (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31
}
function stamp(   s) {
	s = int(dayms / 1000)
	return sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, month, day,
	    int(s / 3600), int(s / 60) % 60, s % 60, dayms % 1000)
}
function uuid(   t) {
	t = sprintf("%08x%04x", int(ms / 65536), ms % 65536) # awk %x stops at 32 bits
	return substr(t, 1, 8) "-" substr(t, 9, 4) "-7" sprintf("%03x", rnd(4096)) "-" \
	    sprintf("%04x-%06x%06x", 32768 + rnd(16384), rnd(16777216), rnd(16777216))
}
function order(type,   id, s, k, i) {
	id = sprintf("ord-%09d", ++orders)
	subject = "orders/" id
	s = "{\"order_id\":\"" id "\",\"customer\":{\"id\":\"" sprintf("cus-%06d", rnd(100000)) \
	    "\",\"tier\":\"" pk(L0) "\",\"address\":{\"city\":\"" \
	    pk(L1) "\",\"country\":\"" \
	    pk(L2) "\"}},\"amount\":" money(rnd(100) < 30) ",\"currency\":\"" \
	    pk(L3) "\",\"items\":["
	k = 1 + rnd(3)
	for (i = 0; i < k; i++)
		s = s (i ? "," : "") "{\"sku\":\"" sprintf("SKU-%05d", rnd(20000)) "\",\"qty\":" (1 + rnd(5)) "}"
	s = s "]"
	if (type == "order.placed" && rnd(50) == 0)
		s = s ",\"gift_message\":\"Happy birthday, \\\"Ana\\\"!\\nLove, Jo\""
	return s ",\"channel\":\"" pk(L4) "\"}"
}
function payment(   o) {
	o = sprintf("ord-%09d", orders > 0 ? orders - rnd(orders < 50 ? orders : 50) : 0)
	subject = "orders/" o
	return "{\"payment_id\":\"" sprintf("pay-%09d", ++payments) "\",\"order_id\":\"" o \
	    "\",\"amount\":" money(rnd(100) < 30) ",\"currency\":\"" pk(L5) \
	    "\",\"method\":{\"type\":\"" pk(L6) "\",\"brand\":\"" \
	    pk(L7) "\",\"last4\":\"" sprintf("%04d", rnd(10000)) \
	    "\"},\"attempt\":" (1 + rnd(3)) "}"
}
function user(   u) {
	u = sprintf("usr-%06d", rnd(100000))
	subject = "users/" u
	return "{\"user_id\":\"" u "\",\"email\":\"" u "@example.com\",\"session\":{\"ip\":\"198.51.100." \
	    rnd(256) "\",\"mfa\":" pk(L8) "},\"locale\":\"" pk(L9) "\"}"
}
function cart(   u) {
	u = sprintf("usr-%06d", rnd(100000))
	subject = "users/" u
	return "{\"cart_id\":\"" sprintf("cart-%07d", rnd(1000000)) "\",\"user_id\":\"" u \
	    "\",\"item\":{\"sku\":\"" sprintf("SKU-%05d", rnd(20000)) "\",\"qty\":" (1 + rnd(4)) \
	    ",\"unit_price\":" money(0) "},\"cart_total\":" money(rnd(10) == 0) "}"
}
function stock(   k) {
	k = sprintf("SKU-%05d", rnd(20000))
	subject = "skus/" k
	return "{\"sku\":\"" k "\",\"warehouse\":\"" pk(L10) "\",\"qty\":" rnd(500) "}"
}
function shipment(   o) {
	o = sprintf("ord-%09d", orders)
	subject = "orders/" o
	return "{\"shipment_id\":\"" sprintf("shp-%08d", ++shipments) "\",\"order_id\":\"" o \
	    "\",\"carrier\":\"" pk(L11) "\"}"
}
BEGIN {
	state = seed % 2147483646 + 1
	k = split("bronze silver gold", L0, " "); L0[0] = k
	k = split("Lisboa München São\\u00a0Paulo Kraków 東京 Zürich Oslo", L1, " "); L1[0] = k
	k = split("PT DE BR PL JP CH NO", L2, " "); L2[0] = k
	k = split("EUR USD GBP JPY", L3, " "); L3[0] = k
	k = split("web ios android", L4, " "); L4[0] = k
	k = split("EUR USD GBP", L5, " "); L5[0] = k
	k = split("card card wallet bank", L6, " "); L6[0] = k
	k = split("visa mastercard amex", L7, " "); L7[0] = k
	k = split("true false", L8, " "); L8[0] = k
	k = split("en-GB pt-BR de-DE ja-JP", L9, " "); L9[0] = k
	k = split("lis-1 fra-2 osa-1", L10, " "); L10[0] = k
	k = split("dhl ups ctt", L11, " "); L11[0] = k
	k = split("eu-west-1 us-east-1 ap-northeast-1", L12, " "); L12[0] = k
	for (i = 0; i < 10; i++) rnd(2)
	year = 2024; month = 1; day = 1; ms = 1704067200000
	# type, weight (per 100), family
	split("order.placed 10 o order.paid 9 o order.shipped 6 o order.delivered 5 o " \
	    "order.cancelled 2 o order.refunded 1 o payment.authorized 9 p payment.captured 8 p " \
	    "payment.failed 2 p payment.refunded 1 p user.signup 3 u user.login 12 u " \
	    "user.logout 6 u user.password_reset 1 u cart.item_added 10 c cart.item_removed 3 c " \
	    "cart.abandoned 2 c inventory.reserved 5 i inventory.low_stock 1 i " \
	    "shipment.delivered 4 s", f, " ")
	ntypes = 0; total = 0
	for (i = 1; i < 60; i += 3) {
		ntypes++; tname[ntypes] = f[i]; total += f[i + 1]; upto[ntypes] = total
		fam[ntypes] = f[i + 2]
	}
	dupper = int(dup * 100 + 0.5) # dup in hundredths of a percent
	made = 0
	for (line = 0; line < n; line++) {
		if (made > 0 && rnd(10000) < dupper) {
			print ring[rnd(made < 4096 ? made : 4096)]
			continue
		}
		r = rnd(total)
		for (t = 1; upto[t] <= r; t++)
			;
		tick()
		type = tname[t]
		if (fam[t] == "o") data = order(type)
		else if (fam[t] == "p") data = payment()
		else if (fam[t] == "u") data = user()
		else if (fam[t] == "c") data = cart()
		else if (fam[t] == "i") data = stock()
		else data = shipment()
		src = "https://" (fam[t] == "p" ? "pay" : fam[t] == "u" ? "id" : "shop") \
		    ".example.com/" pk(L12)
		ev = "{\"specversion\":\"1.0\",\"id\":\"" uuid() "\",\"source\":\"" src \
		    "\",\"type\":\"" type "\",\"time\":\"" stamp() "\",\"subject\":\"" subject \
		    "\",\"datacontenttype\":\"application/json\",\"data\":" data "}"
		ring[made % 4096] = ev
		made++
		print ev
	}
}'
