/*
 * test_hostile_input.c: classes of hostile input that must be refused or
 * kept exact. ident.c: card numbers in any digit forms and groupings,
 * invisible and direction-changing characters in text, the assigned
 * ISO 3166-1 codes. Through the public API on a real register with the seed
 * policy: amounts as JSON numbers, empty optional record fields, dates in
 * the future, and a relationship end moved and taken back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ident.h"
#include "rekisteri.h"

#include "fixture.h"
/* 2025-03-01T12:00:00Z */
#define T0  INT64_C(1740830400)
#define DAY INT64_C(86400)

/* ---- ident ---------------------------------------------------------------
 */

static void test_card_number_forms(void **state)
{
	static const char *const cards[] = {
		"4111111111111111",
		"4111 1111 1111 1111",
		"4111-1111-1111-1111",
		"4111.1111.1111.1111",
		"4111/1111/1111/1111",
		"4111_1111_1111_1111",
		"4111\n1111\t1111\r\n1111",
		"4111\xC2\xA0"
		"1111\xC2\xA0"
		"1111\xC2\xA0"
		"1111", /* NBSP */
		"4111\xE2\x80\x93"
		"1111\xE2\x80\x93"
		"1111\xE2\x80\x93"
		"1111", /* en dash */
		"4111\xE2\x80\x8B"
		"1111\xE2\x80\x8B"
		"1111\xE2\x80\x8B"
		"1111", /* zero-width space */
		"4111\xE3\x80\x80"
		"1111\xE3\x80\x80"
		"1111\xE3\x80\x80"
		"1111", /* ideographic space */
		/* full-width 4111 1111 1111 1111 */
		"\xEF\xBC\x94\xEF\xBC\x91\xEF\xBC\x91\xEF\xBC\x91"
		"\xEF\xBC\x91\xEF\xBC\x91\xEF\xBC\x91\xEF\xBC\x91"
		"\xEF\xBC\x91\xEF\xBC\x91\xEF\xBC\x91\xEF\xBC\x91"
		"\xEF\xBC\x91\xEF\xBC\x91\xEF\xBC\x91\xEF\xBC\x91",
		/* Arabic-Indic 4111-1111-1111-1111 */
		"\xD9\xA4\xD9\xA1\xD9\xA1\xD9\xA1-\xD9\xA1\xD9\xA1\xD9\xA1"
		"\xD9\xA1-\xD9\xA1\xD9\xA1\xD9\xA1\xD9\xA1-\xD9\xA1\xD9\xA1"
		"\xD9\xA1\xD9\xA1",
		/* mixed: ASCII and Devanagari digits */
		"4111 \xE0\xA5\xA7\xE0\xA5\xA7\xE0\xA5\xA7\xE0\xA5\xA7 1111 "
		"1111",
		"Maksettu kortilla 5500 0000 0000 0004 eilen",
		"tilaus 123, kortti 4111 1111 1111 1111",
		"378282246310005", /* 15 digits (Amex) */
		/* the forms a URL gives them */
		"4111+1111+1111+1111",
		"https://shop.example/pay?cc=4111+1111+1111+1111&x=1",
		"4111%201111%201111%201111",
		"4111%2D1111%2d1111%2D1111",
		"4111%2E1111%2E1111%2E1111",
		"4111%2F1111%2F1111%2F1111",
		"4111%2B1111%2B1111%2B1111",
		"4111%0A1111%09"
		"1111%5F1111",
		"4111%C2%A01111%C2%A01111%C2%A01111", /* NBSP */
		"4111%E2%80%8B1111%E2%80%8B1111%E2%80%8B1111",
		"%34%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31",
		"4111%201111 1111-1111",
		"%4111 1111 1111 1111", /* as written, not decoded */
		"5500+0000+0000+0004",
		"4111111111111111 1229", /* with its expiry, separated */
		"4111111111111111 12/29",
		/* magnetic stripe data: the number ends at its separator */
		";4111111111111111=29121010000000000000?",
		"%B4111111111111111^DOE/JOHN^2912101000000000000000?",
	};
	static const char *const not_cards[] = {
		"", "Tilaus 12345, asiakasnumero 100234",
		"puhelin 040 123 4567", "4111 1111 1111 1112", /* Luhn fails */
		"41111111111111111111",	  /* 20 digits unbroken: an ID */
		"4111 1111 1111",	  /* 12 digits */
		"4111a1111a1111a1111",	  /* letters break it */
		"4111, 1111, 1111, 1111", /* a list of numbers */
		"\xFF\xFE 4111",
		/* A card number with its expiry (or security code) glued on
		 * is one unbroken digit string, which cannot be told from a
		 * long ID: its first 16 digits pass the Luhn check one time
		 * in ten. Refused only with a separator before the expiry. */
		"41111111111111111229",
		"viite 12345678901234567894", /* a 20-digit reference */
		"ICCID 89358012345678901234",
		"4111%1111%1111%1111", /* "%11" is no separator */
		"100%25 4111", "4111%2C1111%2C1111%2C1111", /* "," ends it */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cards / sizeof cards[0]; i++) {
		if (!ident_has_card_number(cards[i]))
			print_error("not found: card %zu\n", i);
		assert_true(ident_has_card_number(cards[i]));
	}
	for (i = 0; i < sizeof not_cards / sizeof not_cards[0]; i++) {
		if (ident_has_card_number(not_cards[i]))
			print_error("found in: %zu\n", i);
		assert_false(ident_has_card_number(not_cards[i]));
	}
	assert_false(ident_has_card_number(NULL));
}

/* Every text parser refuses what ident_text_hazard names. */
static void refused_as_text(const char *s)
{
	char out[512];
	const char *why = NULL;

	assert_int_equal(ident_text(s, 400, out, sizeof out, &why), -1);
	assert_non_null(why);
	assert_string_equal(out, "");
	why = NULL;
	assert_int_equal(ident_text_lines(s, 400, out, sizeof out, &why), -1);
	assert_non_null(why);
	assert_non_null(ident_text_hazard(s));
	/* no message quotes the text */
	assert_null(strstr(why, "4111"));
}

static void test_text_hazards(void **state)
{
	static const char *const invisible[] = {
		"\xE2\x80\xAA",	    "\xE2\x80\xAB", "\xE2\x80\xAC",
		"\xE2\x80\xAD",	    "\xE2\x80\xAE", "\xE2\x81\xA6",
		"\xE2\x81\xA7",	    "\xE2\x81\xA8", "\xE2\x81\xA9",
		"\xE2\x80\x8B",	    "\xE2\x80\x8C", "\xE2\x80\x8D",
		"\xE2\x80\x8E",	    "\xE2\x80\x8F", "\xE2\x81\xA0",
		"\xE2\x81\xA1",	    "\xE2\x81\xA2", "\xE2\x81\xA3",
		"\xE2\x81\xA4",	    "\xEF\xBB\xBF", "\xE2\x80\xA8",
		"\xE2\x80\xA9",	    "\xD8\x9C",	    "\xC2\xAD",
		"\xF3\xA0\x80\x81", /* tag character */
		"\xEF\xB8\x80",	    /* U+FE00 variation selector 1 */
		"\xEF\xB8\x8F",	    /* U+FE0F */
		"\xF3\xA0\x84\x80", /* U+E0100 */
		"\xF3\xA0\x87\xAF", /* U+E01EF */
		"\xE1\xA0\x8B",	    /* U+180B Mongolian FVS1 */
		"\xF0\x9D\x85\xB3", /* U+1D173 musical format */
		"\xF0\x9D\x85\xBA", /* U+1D17A */
		"\xF0\x93\x90\xB0", /* U+13430 hieroglyph format */
		"\xF0\x93\x90\xBF", /* U+1343F */
		"\xF0\x9B\xB2\xA0", /* U+1BCA0 shorthand format */
		"\xF0\x9B\xB2\xA3", /* U+1BCA3 */
	};
	char buf[64], out[64];
	const char *why = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof invisible / sizeof invisible[0]; i++) {
		snprintf(buf, sizeof buf, "Eve%slyn", invisible[i]);
		refused_as_text(buf);
	}
	refused_as_text("kortti 4111 1111 1111 1111");
	refused_as_text("kortti\n4111\n1111\n1111\n1111");
	/* other scripts, combining marks and emoji are text */
	assert_int_equal(ident_text("\xC3\x84\xC3\xAF \xD0\x90\xD0\xBD\xD0\xBD"
				    "\xD0\xB0 \xE6\x9D\x8E \xF0\x9F\x98\x80",
				    64, out, sizeof out, &why),
			 0);
	assert_null(ident_text_hazard("Lomake 12: kyll\xC3\xA4"));
	/* nor in an e-mail address, local part or domain */
	for (i = 0; i < sizeof invisible / sizeof invisible[0]; i++) {
		snprintf(buf, sizeof buf, "ai%sno@example.fi", invisible[i]);
		assert_int_equal(ident_email(buf, out, sizeof out, &why), -1);
		snprintf(buf, sizeof buf, "aino@exa%smple.fi", invisible[i]);
		assert_int_equal(ident_email(buf, out, sizeof out, &why), -1);
	}
	/* a card number with any of them between its groups is one */
	for (i = 0; i < sizeof invisible / sizeof invisible[0]; i++) {
		snprintf(buf, sizeof buf, "4111%s1111%s1111%s1111",
			 invisible[i], invisible[i], invisible[i]);
		assert_true(ident_has_card_number(buf));
	}
	/* An emoji's presentation selector is feedback text, not a hidden
	 * mark, after a pictograph; never in a single-line value, never
	 * after a letter or twice. */
	assert_int_equal(ident_text_lines("Kiitos \xE2\x9D\xA4\xEF\xB8\x8F", 64,
					  out, sizeof out, &why),
			 0);
	assert_int_equal(ident_text_lines("1\xEF\xB8\x8F\xE2\x83\xA3", 64, out,
					  sizeof out, &why),
			 0);
	assert_null(ident_text_hazard("Kiitos \xE2\x9D\xA4\xEF\xB8\x8F"));
	assert_int_equal(ident_text("Kiitos \xE2\x9D\xA4\xEF\xB8\x8F", 64, out,
				    sizeof out, &why),
			 -1);
	assert_int_equal(
		ident_text_lines("Ai\xEF\xB8\x8Fno", 64, out, sizeof out, &why),
		-1);
	assert_int_equal(ident_text_lines("1\xEF\xB8\x8F"
					  "2",
					  64, out, sizeof out, &why),
			 -1);
	assert_int_equal(
		ident_text_lines("\xE2\x9D\xA4\xEF\xB8\x8F\xEF\xB8\x8F", 64,
				 out, sizeof out, &why),
		-1);
	assert_int_equal(ident_text_lines("\xE2\x9D\xA4\xEF\xB8\x80", 64, out,
					  sizeof out, &why),
			 -1);
}

/* A HETU in free text would be shown whole to roles that see the hetu
 * field only masked: refused wherever it is written. */
static void test_hetu_in_text(void **state)
{
	static const char *const with[] = {
		"131052-308T",
		"hetu 131052-308T",
		"Asiakkaan henkil\xC3\xB6tunnus on 131052-308T, soittakaa",
		"hetu:131052-308t.",
		"(131052-308T)",
		"010594Y9032", /* 2023 century signs */
		"010594Y9021 ja 020594X903P",
		"020502E901W",
		"010181-900C", /* temporary numbers too */
		"kyll\xC3\xA4"
		"131052-308T",
		"131052\xE2\x80\x90"
		"308T", /* Unicode hyphen */
		/* full-width 131052-308T */
		"\xEF\xBC\x91\xEF\xBC\x93\xEF\xBC\x91\xEF\xBC\x90"
		"\xEF\xBC\x95\xEF\xBC\x92-\xEF\xBC\x93\xEF\xBC\x90"
		"\xEF\xBC\x98\xEF\xBD\x94",
		"https://shop.example/?h=131052-308T&x=1",
	};
	static const char *const without[] = {
		"",
		"131052-308A",	/* wrong check character */
		"131052-308",	/* too short */
		"9131052-308T", /* part of a longer number */
		"131052-308TX", /* followed by a letter */
		"131052-308T1", /* followed by a digit */
		"310252-308T",	/* 31 February */
		"Tilaus 131052 308T",
		"puhelin 040 123 4567, tilaus 2024-000123",
	};
	char out[128];
	const char *why = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof with / sizeof with[0]; i++) {
		if (!ident_has_hetu(with[i]))
			print_error("not found: %zu\n", i);
		assert_true(ident_has_hetu(with[i]));
		why = NULL;
		assert_int_equal(
			ident_text(with[i], 100, out, sizeof out, &why), -1);
		assert_non_null(why);
		assert_non_null(strstr(why, "hetu field"));
		assert_null(strstr(why, "308"));
		assert_int_equal(
			ident_text_lines(with[i], 100, out, sizeof out, &why),
			-1);
		assert_non_null(ident_text_hazard(with[i]));
	}
	for (i = 0; i < sizeof without / sizeof without[0]; i++) {
		if (ident_has_hetu(without[i]))
			print_error("found in: %zu\n", i);
		assert_false(ident_has_hetu(without[i]));
	}
	assert_false(ident_has_hetu(NULL));
	/* an invisible character inside does not hide it */
	assert_true(ident_has_hetu("131052\xE2\x80\x8B-308T"));
	/* the hetu field itself still takes it */
	assert_int_equal(ident_hetu("131052-308T", 0, out, sizeof out, &why),
			 0);
}

/* One form per e-mail address and user name, so that a look-up finds the
 * subject however the value was typed. */
static void test_lookup_forms(void **state)
{
	static const char *const same_email[] = {
		"aino.m\xC3\xA4kel\xC3\xA4@"
		"k\xC3\xA4rkk\xC3\xA4inen.fi", /* NFC */
		"aino.ma\xCC\x88kela\xCC\x88@"
		"ka\xCC\x88rkka\xCC\x88inen.fi", /* NFD */
		"aino.m\xC3\xA4kel\xC3\xA4@"
		"K\xC3\x84RKK\xC3\x84INEN.FI",
		"AINO.MA\xCC\x88KELA\xCC\x88@"
		"KA\xCC\x88RKKA\xCC\x88INEN.FI",
		/* full-width domain, ideographic full stop */
		"aino.m\xC3\xA4kel\xC3\xA4@"
		"\xEF\xBD\x8B\xC3\xA4\xEF\xBD\x92"
		"\xEF\xBD\x8B\xEF\xBD\x8B\xC3\xA4\xEF\xBD\x89"
		"\xEF\xBD\x8E"
		"\xEF\xBD\x85\xEF\xBD\x8E\xE3\x80\x82\xEF\xBD"
		"\x86\xEF\xBD\x89",
		/* full-width @ and an upper-case full-width A
		 */
		"aino."
		"m\xC3\xA4kel\xC3\xA4\xEF\xBC\xA0k\xC3\xA4rkk"
		"\xC3\xA4in"
		"\xEF\xBC\xA5n.fi",
	};
	char first[128], out[128], again[128];
	const char *why = NULL;
	size_t i;

	(void)state;
	assert_int_equal(ident_email(same_email[0], first, sizeof first, &why),
			 0);
	for (i = 0; i < sizeof same_email / sizeof same_email[0]; i++) {
		if (ident_email(same_email[i], out, sizeof out, &why) != 0)
			print_error("refused %zu: %s\n", i, why);
		assert_int_equal(
			ident_email(same_email[i], out, sizeof out, &why), 0);
		assert_string_equal(out, first);
		/* the canonical form is its own */
		assert_int_equal(ident_email(out, again, sizeof again, &why),
				 0);
		assert_string_equal(again, out);
	}
	/* Latin-1 and Latin Extended-A letters lower-cased */
	assert_int_equal(ident_email("\xC3\x85SA.\xC5\xA0\xC5\xB9@\xC3\x96.FI",
				     out, sizeof out, &why),
			 0);
	assert_string_equal(out, "\xC3\xA5sa.\xC5\xA1\xC5\xBA@\xC3\xB6.fi");
	assert_int_equal(ident_email("\xC5\xB8@x.fi", out, sizeof out, &why),
			 0);
	assert_string_equal(out, "\xC3\xBF@x.fi");
	/* a mark that does not join its letter is refused, not stored in a
	 * second form */
	assert_int_equal(
		ident_email("x\xCC\x88@example.fi", out, sizeof out, &why), -1);
	assert_non_null(strstr(why, "NFC"));
	assert_int_equal(ident_email("\xCC\x81"
				     "a@example.fi",
				     out, sizeof out, &why),
			 -1);
	/* user names and names: composed, case kept */
	assert_int_equal(ident_text("Aino.Ma\xCC\x88kela\xCC\x88", 100, out,
				    sizeof out, &why),
			 0);
	assert_string_equal(out, "Aino.M\xC3\xA4kel\xC3\xA4");
	assert_int_equal(ident_text("A\xCC\x8Angstr\xC3\xB6m \xC3\x85", 100,
				    out, sizeof out, &why),
			 0);
	assert_string_equal(out, "\xC3\x85ngstr\xC3\xB6m \xC3\x85");
	assert_int_equal(ident_text_lines("Jyva\xCC\x88skyla\xCC\x88\r\nOK",
					  100, out, sizeof out, &why),
			 0);
	assert_string_equal(out, "Jyv\xC3\xA4skyl\xC3\xA4\nOK");
	/* in place, as the contract allows */
	snprintf(out, sizeof out, "%s", "  Ma\xCC\x88kela\xCC\x88  ");
	assert_int_equal(ident_text(out, 100, out, sizeof out, &why), 0);
	assert_string_equal(out, "M\xC3\xA4kel\xC3\xA4");
	/* room for the composed form is enough */
	assert_int_equal(
		ident_text("Ma\xCC\x88kela\xCC\x88", 100, out, 9, &why), 0);
	assert_string_equal(out, "M\xC3\xA4kel\xC3\xA4");
	assert_int_equal(
		ident_text("Ma\xCC\x88kela\xCC\x88", 100, out, 8, &why), -1);
	/* marks that make no Latin-1 or Extended-A letter stay as they are */
	assert_int_equal(ident_text("x\xCC\x88 a\xCC\x88\xCC\x88", 100, out,
				    sizeof out, &why),
			 0);
	assert_string_equal(out, "x\xCC\x88 \xC3\xA4\xCC\x88");
}

/* An attachment's media type is stored in plaintext: only the shape of a
 * registered media type, never room for a card number or a HETU. */
static void test_media_type(void **state)
{
	static const char *const good[] = {
		"audio/ogg",
		"text/plain",
		"Audio/OGG",
		"audio/3gpp2",
		"image/svg+xml",
		"application/vnd.openxmlformats-officedocument.spreadsheetml."
		"sheet",
		"video/mp4",
		"application/vnd.ms-excel.sheet.binary."
		"macroenabled.12",
	};
	static const char *const bad[] = {
		"text/4111111111111111",
		"application/131052-308T",
		"application/131052-308t",
		"text/4111.1111.1111.1111",
		"text/x-4111-1111-1111-1111",
		"audio/ogg; x=1",
		"audio/",
		"/ogg",
		"audio",
		"audio/ogg/x",
		"secret/ogg",
		"x-card/ogg",
		"audio/.ogg",
		"audio/o_g",
		"audio/o g",
		"audio/\xC3\xA4",
		"text/0401234567",
		"text/"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaa",
	};
	char out[128];
	const char *why = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		if (ident_media_type(good[i], out, sizeof out, &why) != 0)
			print_error("refused: %zu\n", i);
		assert_int_equal(
			ident_media_type(good[i], out, sizeof out, &why), 0);
	}
	assert_int_equal(ident_media_type("Audio/OGG", out, sizeof out, &why),
			 0);
	assert_string_equal(out, "audio/ogg");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		if (ident_media_type(bad[i], out, sizeof out, &why) == 0)
			print_error("accepted: %zu\n", i);
		assert_int_equal(
			ident_media_type(bad[i], out, sizeof out, &why), -1);
		assert_non_null(why);
		assert_string_equal(out, "");
		assert_null(strstr(why, "4111"));
		assert_null(strstr(why, "131052"));
	}
}

static void test_country_table(void **state)
{
	static const char *const assigned[] = {"FI", "SE", "AX", "US", "GB",
					       "DE", "ZW", "AD", "SS", "BQ"};
	static const char *const not_countries[] = {
		"XX", "ZZ", "EU", "UK", "XK", "AA", "QM", "EZ", "UN", "OO"};
	char code[3] = "", out[8];
	const char *why = NULL;
	int n = 0;
	size_t i;

	(void)state;
	for (code[0] = 'A'; code[0] <= 'Z'; code[0]++)
		for (code[1] = 'A'; code[1] <= 'Z'; code[1]++)
			n += ident_country_known(code);
	assert_int_equal(n, 249);
	for (i = 0; i < sizeof assigned / sizeof assigned[0]; i++)
		assert_int_equal(
			ident_country(assigned[i], out, sizeof out, &why), 0);
	for (i = 0; i < sizeof not_countries / sizeof not_countries[0]; i++) {
		assert_int_equal(
			ident_country(not_countries[i], out, sizeof out, &why),
			-1);
		assert_string_equal(out, "");
	}
	assert_int_equal(ident_country("fi", out, sizeof out, &why), 0);
	assert_string_equal(out, "FI");
	assert_false(ident_country_known("fi"));
	assert_false(ident_country_known("FIN"));
	assert_false(ident_country_known(NULL));
}

/* ---- through the API -----------------------------------------------------
 */

static int setup(void **state)
{
	struct fx *f = fx_open("hostile");

	rk_register_set_clock(f->r, T0);
	fx_subject(f->r, "customer", f->id, "last_name", "Vihamielinen",
		   "email", "", NULL);
	*state = f;
	return 0;
}

static rk_status add(struct fx *f, const char *type, const char *json)
{
	int64_t rid = 0;

	return rk_record_add(f->r, f->id, type, json, NULL, NULL, NULL, &rid);
}

/* The fields of the subject's newest record of type, as JSON. */
static json_t *newest(struct fx *f, const char *type)
{
	char *text = NULL;
	json_t *arr, *fields;

	assert_int_equal(rk_record_list(f->r, f->id, type, NULL, &text), RK_OK);
	arr = json_loads(text, 0, NULL);
	rk_free(text);
	assert_true(json_array_size(arr) > 0);
	fields = json_object_get(json_array_get(arr, json_array_size(arr) - 1),
				 "fields");
	json_incref(fields);
	json_decref(arr);
	return fields;
}

static void test_amounts_exact(void **state)
{
	struct fx *f = *state;
	json_t *fields;

	assert_int_equal(add(f, "purchase",
			     "{\"product\": \"x\", \"amount\": 129.90, "
			     "\"currency\": \"EUR\"}"),
			 RK_EINVAL);
	assert_int_equal(add(f, "purchase",
			     "{\"product\": \"x\", \"amount\": "
			     "12345678901234567.89, \"currency\": \"EUR\"}"),
			 RK_EINVAL);
	assert_int_equal(add(f, "purchase",
			     "{\"product\": \"x\", \"amount\": \"1\", "
			     "\"quantity\": 2.0, \"currency\": \"EUR\"}"),
			 RK_EINVAL);
	assert_int_equal(add(f, "payment",
			     "{\"amount\": \"999999999999999.999999\", "
			     "\"currency\": \"EUR\", \"method\": \"cash\"}"),
			 RK_OK);
	fields = newest(f, "payment");
	assert_string_equal(
		json_string_value(json_object_get(fields, "amount")),
		"999999999999999.999999");
	json_decref(fields);
	assert_int_equal(add(f, "payment",
			     "{\"amount\": 1299, \"currency\": \"EUR\", "
			     "\"method\": \"cash\"}"),
			 RK_OK);
	fields = newest(f, "payment");
	assert_string_equal(
		json_string_value(json_object_get(fields, "amount")), "1299");
	json_decref(fields);
}

static void test_empty_fields_absent(void **state)
{
	struct fx *f = *state;
	json_t *fields;
	rk_subject *s = NULL;

	assert_int_equal(add(f, "purchase",
			     "{\"product\": \"x\", \"amount\": \"1\", "
			     "\"currency\": \"EUR\", \"order_number\": \"\", "
			     "\"warranty_until\": \"  \", \"quantity\": null}"),
			 RK_OK);
	fields = newest(f, "purchase");
	assert_int_equal(json_object_size(fields), 3);
	assert_null(json_object_get(fields, "order_number"));
	json_decref(fields);
	assert_int_equal(add(f, "purchase",
			     "{\"product\": \"\", \"amount\": \"1\", "
			     "\"currency\": \"EUR\"}"),
			 RK_EINVAL);
	assert_int_equal(add(f, "purchase",
			     "{\"product\": null, \"amount\": \"1\", "
			     "\"currency\": \"EUR\"}"),
			 RK_EINVAL);
	/* the empty e-mail given to subject add was left out */
	assert_int_equal(rk_subject_get(f->r, f->id, NULL, &s), RK_OK);
	for (size_t i = 0; i < rk_subject_value_count(s); i++)
		assert_string_not_equal(rk_subject_value(s, i)->field, "email");
	rk_subject_free(s);
}

static rk_status set_field(struct fx *f, const char *name, const char *value)
{
	rk_fields *fl = rk_fields_new();
	rk_status st;

	assert_non_null(fl);
	assert_int_equal(rk_fields_add(fl, name, value), RK_OK);
	st = rk_subject_update(f->r, f->id, fl, NULL, NULL);
	rk_fields_free(fl);
	return st;
}

static void test_future_dates(void **state)
{
	struct fx *f = *state;

	/* T0 is 2025-03-01 */
	assert_int_equal(set_field(f, "birth_date", "2025-03-02"), RK_EINVAL);
	assert_int_equal(set_field(f, "birth_date", "2.3.2025"), RK_EINVAL);
	assert_int_equal(set_field(f, "birth_date", "2025-03-01"), RK_OK);
	/* 2025-03-02 in a HETU, born tomorrow (the check is right) */
	assert_int_equal(set_field(f, "hetu", "020325A0027"), RK_EINVAL);
	assert_int_equal(set_field(f, "hetu", "010325A002K"), RK_OK);
	assert_int_equal(rk_subject_end(f->r, f->id, "2025-03-02", NULL),
			 RK_EINVAL);
	/* other dates may lie ahead */
	assert_int_equal(add(f, "purchase",
			     "{\"product\": \"x\", \"amount\": \"1\", "
			     "\"currency\": \"EUR\", \"warranty_until\": "
			     "\"2030-01-01\"}"),
			 RK_OK);
}

/* The expiry of the subject's first value of field, or "" when open. */
static void expiry_of(struct fx *f, const char *field, char out[16])
{
	rk_subject *s = NULL;
	size_t i;

	out[0] = '\0';
	assert_int_equal(rk_subject_get(f->r, f->id, NULL, &s), RK_OK);
	for (i = 0; i < rk_subject_value_count(s); i++) {
		const rk_value *v = rk_subject_value(s, i);
		if (strcmp(v->field, field) == 0) {
			snprintf(out, 16, "%s", v->expires ? v->expires : "");
			break;
		}
	}
	rk_subject_free(s);
}

static void test_end_corrected(void **state)
{
	struct fx *f = *state;
	char first[16], moved[16], open[16];
	rk_subject *s = NULL;

	rk_register_set_clock(f->r, T0 + 30 * DAY);
	assert_int_equal(rk_subject_end_undo(f->r, f->id, NULL), RK_EINVAL);
	assert_int_equal(rk_subject_end(f->r, f->id, "2025-03-20", NULL),
			 RK_OK);
	expiry_of(f, "last_name", first);
	assert_true(first[0] != '\0');
	/* ending again without a date stays refused */
	assert_int_equal(rk_subject_end(f->r, f->id, NULL, NULL), RK_EINVAL);
	/* a corrected date moves the end and the expiry with it */
	assert_int_equal(rk_subject_end(f->r, f->id, "2025-03-10", NULL),
			 RK_OK);
	expiry_of(f, "last_name", moved);
	assert_true(strcmp(moved, first) < 0);
	assert_int_equal(rk_subject_get(f->r, f->id, NULL, &s), RK_OK);
	assert_string_equal(rk_subject_relationship_end(s), "2025-03-10");
	rk_subject_free(s);
	/* not to the future, nor before the start */
	assert_int_equal(rk_subject_end(f->r, f->id, "2025-04-01", NULL),
			 RK_EINVAL);
	assert_int_equal(rk_subject_end(f->r, f->id, "2025-02-01", NULL),
			 RK_EINVAL);
	/* taken back: ongoing, and the expiry open again */
	assert_int_equal(rk_subject_end_undo(f->r, f->id, NULL), RK_OK);
	expiry_of(f, "last_name", open);
	assert_string_equal(open, "");
	assert_int_equal(rk_subject_get(f->r, f->id, NULL, &s), RK_OK);
	assert_null(rk_subject_relationship_end(s));
	rk_subject_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_card_number_forms),
		cmocka_unit_test(test_text_hazards),
		cmocka_unit_test(test_hetu_in_text),
		cmocka_unit_test(test_lookup_forms),
		cmocka_unit_test(test_media_type),
		cmocka_unit_test(test_country_table),
		cmocka_unit_test_setup_teardown(test_amounts_exact, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_empty_fields_absent, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_future_dates, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_end_corrected, setup,
						fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
