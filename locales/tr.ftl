# profile-api'nin Türkçe mesajları. Hata listesinde önce durumun genel mesajı gelir; ardından
# hatalı alanı ya da başlığı adlandıran mesajlar gelir.

## Durum başına genel mesajlar (SPEC §3)
validation-failed = Doğrulama başarısız
authentication-required = Kimlik doğrulaması gerekli
profile-cannot-be-viewed = Bu profil görüntülenemez
profile-is-private = Bu profil gizli
resource-not-found = Kaynak bulunamadı
method-not-allowed = İzin verilmeyen yöntem
conflict = Çakışma
username-taken = Kullanıcı adı zaten alınmış
precondition-failed = Ön koşul sağlanamadı
payload-too-large = İstek gövdesi çok büyük
unsupported-media-type = Desteklenmeyen medya türü
too-many-requests = Çok fazla istek
internal-error = Sunucu hatası
service-unavailable = Hizmet geçici olarak kullanılamıyor

## Yol parametreleri ve argümanlar
invalid-user-id = { $field } 24 karakterlik onaltılık bir kimlik olmalıdır
invalid-username = { $field } 3 ile 30 arasında harf, rakam, alt çizgi veya noktadan oluşmalıdır; başta en fazla bir @ olabilir
too-many-ids = { $field } en fazla { $max } kimlik kabul eder
too-many-aliases = İşlem { $count } takma ad kullanıyor; en fazla { $max } kullanılabilir
too-many-subscriptions = Bir bağlantı aynı anda en fazla { $max } işlem çalıştırabilir
page-size-out-of-range = { $field } 1 ile { $max } arasında olmalıdır
invalid-cursor = { $field } bu listenin döndürdüğü bir imleç değil

## İstek başlıkları (SPEC §2)
invalid-timezone = X-Timezone UTC, UTC-12:00 ile UTC+14:00 arasında UTC+03:00 gibi sabit bir fark (dakika 00, 30 veya 45) ya da Europe/Istanbul gibi bir IANA bölge adı olmalıdır
invalid-platform = X-Platform şunlardan biri olmalıdır: web, mobile_ios, mobile_android, admin, api, unknown, all
invalid-app-version = X-App-Version 1 ile 32 arasında harf, rakam, nokta, artı veya eksi işaretinden oluşmalıdır
invalid-device-id = X-Device-Id 1 ile 128 arasında görünür ASCII karakterinden oluşmalıdır
invalid-header-encoding = { $header } başlığı görünür ASCII metni olmalıdır
invalid-if-match = If-Match tırnak içinde bir varlık etiketi, bunların listesi ya da * olmalıdır

## Kimlik (SPEC §5)
token-missing = Bu istek Authorization başlığında bir bearer belirteci gerektirir
token-malformed = Authorization başlığı "Bearer" ve ardından bir JSON Web Token olmalıdır
token-algorithm = Belirteç bu sunucunun kabul etmediği bir algoritmayla imzalanmış
token-signature = Belirtecin imzası geçerli değil
token-expired = Belirtecin süresi dolmuş
token-claims = Belirteç "sub" içinde bir kullanıcı kimliği ve "exp" içinde bir bitiş zamanı taşımalıdır
token-unknown-user = Belirtecin kullanıcısı yok ya da devre dışı

## İstek gövdeleri
body-malformed-json = Gövde geçerli bir JSON değil (satır { $line }, sütun { $column })
body-not-object = Gövde bir JSON nesnesi olmalıdır
body-empty = Gövde boş; değiştirilecek alanları içeren bir JSON nesnesi gönderin
graphql-request-malformed = Gövde bir GraphQL isteği olmalıdır: "query" metni ve isteğe bağlı "operationName" metni ile "variables" ve "extensions" nesneleri içeren bir JSON nesnesi
graphql-get-malformed = Bir GraphQL GET isteği "query" parametresi gerektirir; "variables" ve "extensions" verildiğinde JSON nesnesi olmalıdır
graphql-query-string-too-long = Sorgu dizesi en fazla { $max } bayt olabilir
persisted-query-not-found = Bu kalıcı sorgu burada bilinmiyor: metnini özetiyle birlikte bir kez gönderin
persisted-query-invalid = Kalıcı sorgu geçerli değil: { $reason }

## Profil alanları (SPEC §1, §4)
field-wrong-type-string = { $field } bir metin olmalıdır
field-wrong-type-integer = { $field } bir tam sayı olmalıdır
field-wrong-type-boolean = { $field } true ya da false olmalıdır
field-wrong-type-string-list = { $field } metinlerden oluşan bir liste olmalıdır
field-nul-character = { $field } NUL karakterini (U+0000) içeremez
field-required = { $field } boş ya da null olamaz
field-read-only = { $field } salt okunurdur
field-unknown = { $field } profilin bir alanı değil
field-length = { $field } { $min } ile { $max } karakter arasında olmalıdır
field-too-long = { $field } en fazla { $max } karakter olmalıdır
field-username = { $field } 3 ile 30 arasında harf, rakam, alt çizgi veya noktadan oluşmalıdır
field-availability = { $field } şunlardan biri olmalıdır: available, busy, away, offline
field-price = { $field } 0 ile 100000 arasında bir tam sayı olmalıdır
field-interests-count = { $field } en fazla { $max } öğe içerebilir
field-interest-length = { $field } öğeleri 1 ile { $max } karakter arasında olmalıdır
field-interest-duplicate = { $field } "{ $value }" değerini birden fazla kez içeriyor
field-birth-date-format = { $field } YYYY-AA-GG biçiminde bir tarih olmalıdır
field-birth-date-age = { $field } { $min } ile { $max } yaş arasında bir yaş vermelidir
field-profile-photo = { $field } size ait bir medya öğesinin kimliği olmalıdır
field-handle-instagram = { $field } bir Instagram kullanıcı adı olmalıdır: 1 ile 30 arasında harf, rakam, nokta veya alt çizgi, nokta ile başlamadan ve bitmeden, ya da bir instagram.com profil bağlantısı
field-handle-snapchat = { $field } bir Snapchat kullanıcı adı olmalıdır: harfle başlayan, 3 ile 15 arasında harf, rakam, nokta, tire veya alt çizgi, ya da bir snapchat.com profil bağlantısı
field-handle-x = { $field } bir X kullanıcı adı olmalıdır: 1 ile 15 arasında harf, rakam veya alt çizgi, ya da bir x.com profil bağlantısı
field-handle-tiktok = { $field } bir TikTok kullanıcı adı olmalıdır: nokta ile bitmeyen, 2 ile 24 arasında harf, rakam, nokta veya alt çizgi, ya da bir tiktok.com profil bağlantısı
field-handle-facebook = { $field } bir Facebook kullanıcı adı olmalıdır: 5 ile 50 arasında harf, rakam veya nokta, ya da bir facebook.com profil bağlantısı

## Takip grafiği
cannot-follow-self = Kendinizi takip edemezsiniz
cannot-block-self = Kendinizi engelleyemezsiniz
follow-blocked = Bu kullanıcıyı takip edemezsiniz
no-follow-request = Bu kullanıcının size bekleyen bir takip isteği yok
