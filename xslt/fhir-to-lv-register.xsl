<?xml version="1.0" encoding="UTF-8"?>
<!--
  fhir-to-lv-register.xsl - one outbox item for LV to the body of the SOAP
  call the gateway makes on LV: RegisterLicenseApplication (a pharmacy's
  application, with the case's motivation) or RegisterLicenseSupplement.

  Input, built by outbound/lv.c:
    <d:delivery xmlns:d="urn:klasgw:delivery" kind="application|supplement"
                messageId="..." referenceNumber="...">
      <d:item>     the item's FHIR message Bundle (canonical XML) </d:item>
      <d:motivation> the case's motivation Bundle (applications) </d:motivation>
    </d:delivery>
  Output: the request element, checked by lv.c against its Responder XSD
  before it is sent. The FHIR documents travel unchanged: LV gets the
  whole motivation (indication and motivation text are for LV).
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:d="urn:klasgw:delivery"
    xmlns:f="http://hl7.org/fhir"
    exclude-result-prefixes="d f">
  <xsl:output method="xml" encoding="UTF-8"/>

  <xsl:template match="/d:delivery[@kind = 'application']">
    <rla:RegisterLicenseApplication xmlns:rla="urn:riv:klas:RegisterLicenseApplicationResponder:1">
      <rla:messageId><xsl:value-of select="@messageId"/></rla:messageId>
      <rla:referenceNumber><xsl:value-of select="@referenceNumber"/></rla:referenceNumber>
      <rla:application><xsl:copy-of select="d:item/f:Bundle"/></rla:application>
      <xsl:if test="d:motivation/f:Bundle">
        <rla:motivation><xsl:copy-of select="d:motivation/f:Bundle"/></rla:motivation>
      </xsl:if>
    </rla:RegisterLicenseApplication>
  </xsl:template>

  <xsl:template match="/d:delivery[@kind = 'supplement']">
    <rls:RegisterLicenseSupplement xmlns:rls="urn:riv:klas:RegisterLicenseSupplementResponder:1">
      <rls:messageId><xsl:value-of select="@messageId"/></rls:messageId>
      <rls:referenceNumber><xsl:value-of select="@referenceNumber"/></rls:referenceNumber>
      <rls:supplement><xsl:copy-of select="d:item/f:Bundle"/></rls:supplement>
    </rls:RegisterLicenseSupplement>
  </xsl:template>

  <xsl:template match="/*" priority="-1">
    <d:unknown-kind/>
  </xsl:template>
</xsl:stylesheet>
