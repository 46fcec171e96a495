/*
 * policy.h: the policy (privacy notice as data) and its loader.
 *
 * The policy is a JSON document (see docs/policy.md). policy_parse validates
 * it completely (syntax, unknown keys, types, references between items,
 * identifiers such as the controller's Y-tunnus) and reports each problem
 * with its line and column. The in-memory model is read-only once loaded.
 * Items refer to each other by index into the arrays of struct policy.
 */
#ifndef RK_POLICY_H
#define RK_POLICY_H

#include <stddef.h>

#define POL_NONE ((size_t)-1)

typedef struct pol_text {
	char *fi;
	char *en;
} pol_text;

typedef enum pol_type {
	PT_TEXT,
	PT_EMAIL,
	PT_PHONE,
	PT_POSTAL_CODE,
	PT_DATE,
	PT_HETU,
	PT_BUSINESS_ID,
	PT_COUNTRY,
	PT_ENUM,	    /* one of values[] */
	PT_CUSTOMER_NUMBER, /* issued by the register, never given */
	PT_PASSWORD,	    /* stored only as an Argon2id hash */
	PT_DECIMAL,	    /* e.g. amounts: -?digits(.digits)? */
	PT_INTEGER,
	PT_TIMESTAMP, /* ISO 8601 date-time, UTC or with offset */
	PT_URL,
	PT_IP,
	PT_CARD_TOKEN, /* opaque payment token; a card number is refused */
	PT_CARD_LAST4,
	PT_CARD_EXPIRY, /* MM/YY */
	PT_LATITUDE,
	PT_LONGITUDE
} pol_type;

typedef struct pol_named {
	char *name;
	pol_text label;
	pol_text description; /* optional: both NULL when absent */
	char *gdpr; /* legal bases: GDPR article, e.g. "6(1)(a)"; else NULL */
	/* sources: the data subject gave the data itself (what data
	 * portability hands back); 0 for every other item */
	int provided_by_subject;
	/* legal bases: the legitimate interests pursued (GDPR Art.
	 * 13(1)(d)), both NULL when absent */
	pol_text interests;
} pol_named;

typedef enum pol_ret_from {
	RET_COLLECTION,	      /* from when the value was collected */
	RET_RELATIONSHIP_END, /* from the end of the relationship */
	RET_FISCAL_YEAR_END,  /* from the end of the financial year */
	/* from the end of the calendar year in which the financial year
	 * ended (Kirjanpitolaki 2:10, vouchers) */
	RET_CALENDAR_YEAR_END
} pol_ret_from;

typedef struct pol_retention {
	char *name;
	pol_text label;
	pol_ret_from from;
	int years, months, days;
	int legal_hold; /* kept by law: blocks erasure until it expires */
	pol_text description;
	/* how the period is determined where it starts at an event, e.g.
	 * when a relationship counts as ended (Art. 13(2)(a)); optional */
	pol_text criteria;
} pol_retention;

typedef struct pol_field {
	char *name;
	pol_text label;
	pol_type type;
	size_t category;  /* index into categories */
	size_t *purposes; /* indices into purposes */
	size_t npurposes;
	size_t basis;	  /* index into bases */
	size_t source;	  /* default source, index into sources */
	size_t retention; /* index into retention */
	int lookup;	  /* has a blind index */
	int multiple;	  /* may hold several values */
	int required;	  /* (record fields) must be present */
	int multiline;	  /* text of several lines (tabs, line feeds) */
	int past;	  /* (date) never after today: a birth date */
	size_t max_len;	  /* text bytes, 0 = type default */
	char **values;	  /* PT_ENUM */
	size_t nvalues;
	size_t consent; /* scope whose live consent the value needs, or
			   POL_NONE (required when the basis is consent) */
	pol_text description;
	/* The subject kinds that may hold the field (indices into kinds),
	 * e.g. a HETU only where identifying the person is needed
	 * (Tietosuojalaki 29 §); NULL and 0 when every kind may. */
	size_t *kinds;
	size_t nkinds;
} pol_field;

typedef struct pol_kind {
	char *name; /* customer, prospect, contact */
	pol_text label;
	int customer_number; /* subjects of the kind get a customer number */
	size_t *required;    /* indices into fields */
	size_t nrequired;
	size_t retention; /* overrides the fields' rule, or POL_NONE */
	pol_text description;
} pol_kind;

typedef struct pol_record_type {
	char *name;
	pol_text label;
	size_t *purposes;
	size_t npurposes;
	size_t basis;
	size_t retention;
	size_t consent; /* scope needed to store it, or POL_NONE */
	/* Purposes that need a live consent to use the records for: using
	 * them for pc_purposes[i] needs scope pc_scopes[i] (indices into
	 * purposes and scopes). Each pc_purposes[i] is in purposes. */
	size_t *pc_purposes;
	size_t *pc_scopes;
	size_t npc;
	int attachment; /* may carry an encrypted attachment */
	size_t max_attachment;
	/* Their own fields. Each inherits the record type's purposes (a copy),
	 * basis, retention, source and consent; category is POL_NONE and
	 * lookup 0. */
	pol_field *fields;
	size_t nfields;
	size_t source; /* default source, index into sources */
	pol_text description;
	/* the notice lists this type in one item with an earlier type
	 * (index into record_types), or POL_NONE */
	size_t notice_with;
} pol_record_type;

typedef struct pol_scope {
	char *name;
	pol_text label;
	size_t *purposes;
	size_t npurposes;
	pol_text description;
	/* The recipients (third parties, or a recipient entry that stands
	 * for a category of them) that the consent names: a third party's
	 * marketing needs a consent that names it (917/2014 s. 200). */
	size_t *recipients;
	size_t nrecipients;
} pol_scope;

typedef enum pol_recipient_kind {
	RCP_PROCESSOR,
	RCP_THIRD_PARTY,
	RCP_AUTHORITY
} pol_recipient_kind;

/* Which subjects and records a recipient may receive: those with a record
 * of type record_type whose field is one of values (e.g. payments that are
 * overdue), or, when given is set, whose field equals the value named at
 * disclosure time (e.g. the participants of one event). Only the matching
 * records of that type go. */
typedef struct pol_select {
	size_t record_type; /* POL_NONE: no selection */
	size_t field;	    /* index into the record type's fields */
	char **values;
	size_t nvalues;
	int given;
} pol_select;

typedef struct pol_recipient {
	char *name;
	pol_text label;
	pol_recipient_kind kind;
	char country[3];
	char *safeguard; /* "scc", "bcr", "adequacy" or NULL */
	size_t *purposes;
	size_t npurposes;
	pol_text description;
	/* What the recipient may receive: the fields named and those of the
	 * categories named (indices into fields and categories), and
	 * records of the types named; everything: all of it, whatever its
	 * purpose (a transfer of the business). */
	size_t *fields;
	size_t nfields;
	size_t *categories;
	size_t ncategories;
	size_t *record_types;
	size_t nrecord_types;
	int everything;
	pol_select select;
	/* an authority: each disclosure records its legal ground */
	int legal_ground;
} pol_recipient;

/* Products the controller sells, grouped so that "similar products" (the
 * existing-customer exception of 917/2014 s. 200(2)) can be decided. */
typedef struct pol_product_category {
	char *name;
	pol_text label;
	char **products; /* as purchase records name them */
	size_t nproducts;
	pol_text description;
} pol_product_category;

typedef struct pol_role {
	char *name;
	pol_text label;
	size_t *purposes;
	size_t npurposes;
	size_t *categories;
	size_t ncategories;
	int unmasked_hetu;
	int audit; /* may read, verify and checkpoint the audit trail */
	pol_text description;
} pol_role;

typedef struct pol_section {
	char *key;
	pol_text title;
	pol_text body; /* optional: both NULL when absent */
	/* optional: the section opens a chapter of this heading; its body is
	 * the chapter's introduction and its title the heading of its list */
	pol_text chapter;
	int subsection; /* a sub-heading within the chapter before it */
} pol_section;

/* The data subject's rights a policy may state in its own words (the
 * "rights" object), in the order the notice lists them. */
enum pol_right {
	PR_ACCESS,
	PR_RECTIFICATION,
	PR_ERASURE,
	PR_RESTRICTION,
	PR_PORTABILITY,
	PR_OBJECTION,
	PR_WITHDRAW_CONSENT,
	PR_COUNT
};
extern const char *const policy_right_names[PR_COUNT];

typedef struct policy {
	int format; /* the policy format version, 1 */
	struct {
		char *name;
		char *address;
		char *business_id; /* validated Y-tunnus */
		char *email;
	} controller;
	struct {
		char *name;
		char *email;
	} responsible;
	pol_text register_name;
	/* The supervisory authority a complaint goes to (optional: present
	 * is 0 and the members NULL when the policy names none). */
	struct {
		int present;
		pol_text name;
		char *address;
		char *url;
	} supervisory;
	struct {
		int allow_temporary_hetu;
		int derive_sex_from_hetu;
		size_t default_purpose; /* index into purposes */
		char country_code[8];	/* phone calling code, e.g. "358" */
		long customer_number_start;
		/* the role of whoever holds the master key (POL_NONE when
		 * the policy declares no roles) */
		size_t operator_role;
		/* the purpose of establishing, exercising or defending legal
		 * claims: the one purpose a restricted subject's data may
		 * still be read for (GDPR Art. 18(2)); POL_NONE: none */
		size_t legal_claims_purpose;
		/* The last day of the financial year ("MM-DD", default
		 * 12-31): bookkeeping periods run from its end. */
		int fy_month, fy_day;
	} settings;
	/* What the direct-marketing rules act on, named in the policy's
	 * "marketing" section; each is POL_NONE when not named, and the
	 * rule that needs it then does not apply. */
	struct {
		size_t purpose; /* purposes: direct marketing itself */
		size_t *roles;	/* roles that work for it */
		size_t nroles;
		size_t prohibition; /* objections: the prohibition */
		size_t email_consent, sms_consent; /* scopes */
		size_t third_party_consent;	   /* scopes */
		size_t personalisation_consent;	   /* scopes */
		size_t customer_kind; /* kinds: soft opt-in applies */
		size_t contact_kind;  /* kinds: business contacts */
		size_t sale_record;   /* record types: a sale to the subject */
		/* the sale record's field that names the product (index
		 * into its fields) */
		size_t sale_product_field;
		/* the sources that mean a value was obtained in connection
		 * with a sale (indices into sources) */
		size_t *sale_sources;
		size_t nsale_sources;
		size_t email_field, sms_field; /* fields: the addresses */
		size_t automated_call_consent; /* scopes */
		/* The controller's own direct-marketing register: the fields
		 * a subject's data may keep there after the relationship
		 * ended (transfer-to-marketing), re-purposed to purpose on
		 * register_basis and kept by register_retention (counted
		 * from the transfer). POL_NONE / 0 when not named. */
		size_t *register_fields;
		size_t nregister_fields;
		size_t register_retention;
		size_t register_basis;
	} marketing;
	/* Transfers outside the EU/EEA (GDPR Chapter V): the EU and EEA
	 * states and the countries with an adequacy decision (Art. 45), ISO
	 * 3166-1 alpha-2. present is 0 when the policy names none: then no
	 * transfer can be judged, and a disclosure without a safeguard is
	 * refused. */
	struct {
		int present;
		char (*eu_eea)[3];
		size_t neu_eea;
		char (*adequacy)[3];
		size_t nadequacy;
	} countries;
	pol_product_category *product_categories;
	size_t nproduct_categories;

	pol_named *purposes;
	size_t npurposes;
	pol_named *bases;
	size_t nbases;
	pol_named *sources;
	size_t nsources;
	pol_named *categories;
	size_t ncategories;
	pol_retention *retention;
	size_t nretention;
	pol_field *fields;
	size_t nfields;
	pol_kind *kinds;
	size_t nkinds;
	pol_record_type *record_types;
	size_t nrecord_types;
	pol_scope *scopes;
	size_t nscopes;
	pol_named *objections;
	size_t nobjections;
	pol_recipient *recipients;
	size_t nrecipients;
	pol_role *roles;
	size_t nroles;
	pol_section *sections; /* notice prose in order */
	size_t nsections;
	/* ---- the controller's paperwork (records of processing, anonymous
	 * statistics); parsed by parse_paperwork ---- */
	/* settings "security_section": the notice section that describes
	 * the security measures (index into sections), or POL_NONE */
	size_t security_section;
	/* The "statistics" section: the purpose anonymous statistics serve
	 * (a role whose purposes include it may release them; POL_NONE: only
	 * the operator), the smallest cell (k, 3 or more, default 5) and the
	 * fields and record field the coarse dimensions are drawn from (each
	 * POL_NONE when not named: that dimension is not offered). */
	struct {
		size_t purpose;
		int min_cell;
		size_t birth_date;     /* fields: a date */
		size_t hetu;	       /* fields: a HETU (its birth date) */
		size_t gender;	       /* fields: an enum */
		size_t postal_code;    /* fields: a postal code */
		size_t country;	       /* fields: a country */
		size_t product_record; /* record types */
		size_t product_field;  /* that type's own fields */
	} statistics;
	/* the rights' texts (both NULL when the policy states none) */
	pol_text rights[PR_COUNT];
} policy;

typedef void (*pol_diag_fn)(void *ud, const char *file, int line, int column,
			    const char *message);

/* Parses and validates. Returns the model, or NULL after reporting every
 * problem found through diag (which may be NULL). filename is used only in
 * diagnostics. */
policy *policy_parse(const char *text, size_t len, const char *filename,
		     pol_diag_fn diag, void *ud);
/* Reads path and parses it; a read failure is reported as line 0. When
 * text_out is given and the file could be read, *text_out receives the text
 * (NUL-terminated) whether or not it parsed: the caller frees it. Otherwise
 * *text_out is NULL. */
policy *policy_load_file(const char *path, pol_diag_fn diag, void *ud,
			 char **text_out /* malloc'd file text, may be NULL */);
void policy_free(policy *p);

/* What the notice should say and the policy leaves out (GDPR Art. 13/14):
 * a purpose without a legal basis, legitimate interest used without the
 * interests, no supervisory authority, no portability or restriction
 * right, a retention rule counted from an event without its criteria.
 * Each is reported through warn at its place in text (the text p was
 * parsed from); returns the number of warnings. */
size_t policy_warnings(const policy *p, const char *text, size_t len,
		       const char *filename, pol_diag_fn warn, void *ud);
/* The legal bases (indices, deduplicated, in declaration order) of the
 * fields and record types that serve purpose index pu; returns how many
 * were written to out (cap entries at most). */
size_t policy_purpose_bases(const policy *p, size_t pu, size_t *out,
			    size_t cap);

/* Lookups by name: index or POL_NONE. */
size_t policy_purpose(const policy *p, const char *name);
size_t policy_basis(const policy *p, const char *name);
size_t policy_source(const policy *p, const char *name);
size_t policy_field(const policy *p, const char *name);
size_t policy_kind(const policy *p, const char *name);
size_t policy_record_type(const policy *p, const char *name);
size_t policy_scope(const policy *p, const char *name);
size_t policy_role(const policy *p, const char *name);
size_t policy_category(const policy *p, const char *name);
size_t policy_retention(const policy *p, const char *name);
size_t policy_objection(const policy *p, const char *name);
size_t policy_recipient(const policy *p, const char *name);
/* Whether role index ro works for direct marketing (the policy's
 * "marketing" section names it). */
int policy_marketing_role(const policy *p, size_t ro);
/* A record type's own field by name: index into rt->fields or POL_NONE. */
size_t policy_record_field(const pol_record_type *rt, const char *name);
/* The consent scope (index into scopes) whose live consent using records
 * of type rt for purpose index purpose needs, or POL_NONE. */
size_t policy_record_purpose_consent(const pol_record_type *rt, size_t purpose);
/* Whether basis index b is consent (named "consent" or GDPR 6(1)(a)). */
int policy_basis_is_consent(const policy *p, size_t b);
/* Whether subjects of kind index ki may hold field f (its "kinds" list;
 * every kind when it has none). */
int policy_field_kind_ok(const policy *p, size_t f, size_t ki);
/* Whether field f serves purpose index pu. */
int policy_field_serves(const policy *p, size_t f, size_t pu);
const char *policy_type_name(pol_type t);

/* ---- disclosures, transfers, products ---- */
int policy_country_in_eu_eea(const policy *p, const char *cc);
int policy_country_adequate(const policy *p, const char *cc);
/* Whether a disclosure to recipient ri is allowed as a transfer: its
 * country is in the EU/EEA or has an adequacy decision, or the recipient
 * has a recorded safeguard (SCC, BCR). */
int policy_transfer_ok(const policy *p, size_t ri);
/* Whether consent scope sc names recipient ri. */
int policy_scope_names(const policy *p, size_t sc, size_t ri);
/* The product category (index) that product belongs to, or POL_NONE. */
size_t policy_product_category(const policy *p, const char *product);
/* A product category by name, or POL_NONE. */
size_t policy_product_category_named(const policy *p, const char *name);
/* Whether recipient ri may receive field f (by name or category). */
int policy_recipient_field(const policy *p, size_t ri, size_t f);
/* Whether recipient ri may receive records of type index rt. */
int policy_recipient_record_type(const policy *p, size_t ri, size_t rt);

#endif
